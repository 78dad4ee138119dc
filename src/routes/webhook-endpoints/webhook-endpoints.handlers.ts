import type { Context } from "hono";
import type { WebhookDeliveryRow } from "../../db/schema";
import type { AppEnv } from "../../env";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { isoOrNull, isoSeconds } from "../../lib/time";
import { dispatchDeps } from "../../middleware/context";
import { listDeliveries } from "../../services/events";
import * as endpoints from "../../services/webhook-endpoints";
import { webhookEndpointJson } from "../../webhooks/endpoint-json";
import type { HandlerOf } from "../define-route";
import { eventBody } from "../events/events.schemas";
import type * as routes from "./webhook-endpoints.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const allowInsecure = (c: Context<AppEnv>) => c.get("config").webhooks.allowInsecureUrls;

const deliveryJson = (row: WebhookDeliveryRow) => ({
  id: row.id,
  object: "webhook_delivery" as const,
  endpoint_id: row.endpointId,
  event_id: row.eventId,
  event_type: row.eventType,
  attempt: row.attempt,
  success: row.success,
  status_code: row.statusCode,
  latency_ms: row.latencyMs,
  response_body: row.responseBody,
  error: row.error,
  next_retry_at: isoOrNull(row.nextRetryAt),
  created_at: isoSeconds(row.createdAt),
});

export const createWebhookEndpoint: Handler<"createWebhookEndpoint"> = async (c) => {
  const row = await endpoints.createEndpoint(c.get("db"), c.get("auth").org.id, c.req.valid("json"), allowInsecure(c));
  return c.json({ ...webhookEndpointJson(row), secret: row.secret }, 201, NO_STORE);
};

export const listWebhookEndpoints: Handler<"listWebhookEndpoints"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await endpoints.listEndpoints(c.get("db"), c.get("auth").org.id, { limit: q.limit, startingAfter: q.starting_after });
  return c.json(toPage(rows, q.limit, webhookEndpointJson), 200);
};

export const getWebhookEndpoint: Handler<"getWebhookEndpoint"> = async (c) => {
  const row = await endpoints.requireEndpoint(c.get("db"), c.get("auth").org.id, c.req.valid("param").endpoint_id);
  return c.json(webhookEndpointJson(row), 200);
};

export const updateWebhookEndpoint: Handler<"updateWebhookEndpoint"> = async (c) => {
  const row = await endpoints.updateEndpoint(c.get("db"), c.get("auth").org.id, c.req.valid("param").endpoint_id, c.req.valid("json"), allowInsecure(c));
  return c.json(webhookEndpointJson(row), 200);
};

export const deleteWebhookEndpoint: Handler<"deleteWebhookEndpoint"> = async (c) => {
  const row = await endpoints.deleteEndpoint(c.get("db"), c.get("auth").org.id, c.req.valid("param").endpoint_id);
  return c.json({ id: row.id, object: "webhook_endpoint" as const, deleted: true as const }, 200);
};

export const rotateWebhookSecret: Handler<"rotateWebhookSecret"> = async (c) => {
  const row = await endpoints.rotateSecret(c.get("db"), c.get("auth").org.id, c.req.valid("param").endpoint_id);
  return c.json({ ...webhookEndpointJson(row), secret: row.secret }, 200, NO_STORE);
};

export const testWebhookEndpoint: Handler<"testWebhookEndpoint"> = async (c) => {
  const event = await endpoints.sendTestEvent(dispatchDeps(c), c.get("auth").org.id, c.req.valid("param").endpoint_id);
  return c.json(eventBody(event), 202);
};

export const listWebhookDeliveries: Handler<"listWebhookDeliveries"> = async (c) => {
  const orgId = c.get("auth").org.id;
  const { endpoint_id } = c.req.valid("param");
  const q = c.req.valid("query");
  await endpoints.requireEndpoint(c.get("db"), orgId, endpoint_id);
  const rows = await listDeliveries(c.get("db"), orgId, endpoint_id, { limit: q.limit, startingAfter: q.starting_after });
  return c.json(toPage(rows, q.limit, deliveryJson), 200);
};
