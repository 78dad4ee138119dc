import { jsonResponse, NO_STORE_HEADERS } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { EventSchema } from "../events/events.schemas";
import {
  CreateWebhookEndpointBody,
  DeletedWebhookEndpointSchema,
  ListWebhookEndpointsQuery,
  UpdateWebhookEndpointBody,
  WebhookDeliveryListSchema,
  WebhookEndpointIdParams,
  WebhookEndpointListSchema,
  WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
} from "./webhook-endpoints.schemas";

const tags = ["Webhooks"];
const json = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const params = { params: WebhookEndpointIdParams };
const NOT_FOUND = ["webhook_endpoint.not_found"] as const;

export const createWebhookEndpoint = defineRoute("api_key", {
  method: "post",
  path: "/v1/webhook-endpoints",
  operationId: "createWebhookEndpoint",
  tags,
  summary: "Create a webhook endpoint",
  description:
    '`url` must be https: and must not point at a loopback, private, link-local or internal address, nor contain control characters or end its host name with a dot (`400 parameter.invalid`, `param: "url"`); it is stored and answered in normal form. An organisation has at most 16 endpoints: the 17th is `409 webhook_endpoint.limit_reached` (deleting one frees a slot). The answer carries the signing `secret` once (`Cache-Control: no-store`).',
  request: { body: json(CreateWebhookEndpointBody) },
  responses: { 201: jsonResponse(WebhookEndpointWithSecretSchema, "The endpoint, with its signing secret.", NO_STORE_HEADERS) },
  errors: ["webhook_endpoint.limit_reached"],
});

export const listWebhookEndpoints = defineRoute("api_key", {
  method: "get",
  path: "/v1/webhook-endpoints",
  operationId: "listWebhookEndpoints",
  tags,
  summary: "List your organisation's webhook endpoints",
  description: "Newest first. Never shows a secret.",
  request: { query: ListWebhookEndpointsQuery },
  responses: { 200: jsonResponse(WebhookEndpointListSchema, "A page of endpoints.") },
});

export const getWebhookEndpoint = defineRoute("api_key", {
  method: "get",
  path: "/v1/webhook-endpoints/{endpoint_id}",
  operationId: "getWebhookEndpoint",
  tags,
  summary: "Retrieve a webhook endpoint",
  request: params,
  responses: { 200: jsonResponse(WebhookEndpointSchema, "The endpoint.") },
  errors: NOT_FOUND,
});

export const updateWebhookEndpoint = defineRoute("api_key", {
  method: "patch",
  path: "/v1/webhook-endpoints/{endpoint_id}",
  operationId: "updateWebhookEndpoint",
  tags,
  summary: "Update a webhook endpoint",
  description:
    'Changes only the fields sent. `disabled: false` enables an endpoint again, whatever disabled it. A new `url` is checked and normalised as on create. A PATCH that leaves the endpoint enabled also re-checks the stored `url`: one the URL policy no longer accepts makes it `400 parameter.invalid`, `param: "url"`, until a new `url` is sent; `{"disabled": true}` is always accepted.',
  request: { ...params, body: json(UpdateWebhookEndpointBody) },
  responses: { 200: jsonResponse(WebhookEndpointSchema, "The endpoint.") },
  errors: NOT_FOUND,
});

export const deleteWebhookEndpoint = defineRoute("api_key", {
  method: "delete",
  path: "/v1/webhook-endpoints/{endpoint_id}",
  operationId: "deleteWebhookEndpoint",
  tags,
  summary: "Delete a webhook endpoint",
  description: "Deliveries still queued for it are dropped.",
  request: params,
  responses: { 200: jsonResponse(DeletedWebhookEndpointSchema, "`{id, object, deleted: true}`.") },
  errors: NOT_FOUND,
});

export const rotateWebhookSecret = defineRoute("api_key", {
  method: "post",
  path: "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
  operationId: "rotateWebhookEndpointSecret",
  tags,
  summary: "Rotate an endpoint's signing secret",
  description:
    "A new secret, shown once. For 24 hours the old one keeps signing too: `webhook-signature` carries two `v1,` entries, the new secret's first, so a receiver can switch without missing a delivery.",
  request: params,
  responses: { 200: jsonResponse(WebhookEndpointWithSecretSchema, "The endpoint, with its new secret.", NO_STORE_HEADERS) },
  errors: NOT_FOUND,
});

export const testWebhookEndpoint = defineRoute("api_key", {
  method: "post",
  path: "/v1/webhook-endpoints/{endpoint_id}/test",
  operationId: "testWebhookEndpoint",
  tags,
  summary: "Send a test event",
  description: "Records a `webhook.test` event and queues it for this endpoint only, now, whatever it subscribes to and even while it is disabled.",
  request: params,
  responses: { 202: jsonResponse(EventSchema, "The test event.") },
  errors: NOT_FOUND,
});

export const listWebhookDeliveries = defineRoute("api_key", {
  method: "get",
  path: "/v1/webhook-endpoints/{endpoint_id}/deliveries",
  operationId: "listWebhookEndpointDeliveries",
  tags,
  summary: "List an endpoint's delivery attempts",
  description:
    "Newest first: every attempt, with the receiver's status, latency, the first 1 KiB of its answer or the error, and when the next attempt is due.",
  request: { ...params, query: ListWebhookEndpointsQuery },
  responses: { 200: jsonResponse(WebhookDeliveryListSchema, "A page of attempts.") },
  errors: NOT_FOUND,
});
