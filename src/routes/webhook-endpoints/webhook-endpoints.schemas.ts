import { z } from "@hono/zod-openapi";
import { WEBHOOK_DISABLED_REASONS } from "../../db/schema";
import { TimestampSchema } from "../../lib/openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";
import { WEBHOOK_URL_MAX_CHARS } from "../../lib/webhook-urls";
import { EVENT_TYPES } from "../../webhooks/events";

const EVENT_TYPE_OR_ALL = z.enum(["*", ...EVENT_TYPES]);

export const WebhookEndpointSchema = z
  .object({
    id: z.string().openapi({ example: "we_01JD0000000000000000000000" }),
    object: z.literal("webhook_endpoint"),
    url: z.string().openapi({ example: "https://example.com/webhooks/avatar", description: "The URL in normal form, as deliveries request it." }),
    description: z.string().nullable(),
    enabled_events: z.array(EVENT_TYPE_OR_ALL).openapi({ example: ["conversation.ended"] }),
    disabled: z.boolean(),
    disabled_at: TimestampSchema.nullable(),
    disabled_reason: z
      .enum(WEBHOOK_DISABLED_REASONS)
      .nullable()
      .openapi({ description: "`manual` (PATCH `disabled: true`), `gone` (the receiver answered 410) or `failing` (every attempt failed for three days)." }),
    secret_rotation_ends_at: TimestampSchema.nullable().openapi({ description: "While set, the previous secret still signs beside the current one." }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("WebhookEndpoint");

export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    description: "The signing secret (Standard Webhooks: base64-decode what follows `whsec_` for the HMAC key). Shown in this response only.",
  }),
}).openapi("WebhookEndpointWithSecret");

export const WebhookEndpointListSchema = listSchema(WebhookEndpointSchema, "WebhookEndpointList");

export const DeletedWebhookEndpointSchema = z
  .object({ id: z.string(), object: z.literal("webhook_endpoint"), deleted: z.literal(true) })
  .openapi("DeletedWebhookEndpoint");

export const WebhookDeliverySchema = z
  .object({
    id: z.string().openapi({ example: "wd_01JD0000000000000000000000" }),
    object: z.literal("webhook_delivery"),
    endpoint_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    attempt: z.number().int().openapi({ description: "1 for the first attempt of this delivery, then 2, 3, …" }),
    success: z.boolean().openapi({ description: "The receiver answered 2xx." }),
    status_code: z.number().int().nullable().openapi({ description: "null when there was no answer (timeout, connection failure)." }),
    latency_ms: z.number().int(),
    response_body: z.string().nullable().openapi({ description: "The first 1 KiB of the receiver's answer." }),
    error: z.string().nullable(),
    next_retry_at: TimestampSchema.nullable().openapi({ description: "When the next attempt is due; null after a success or the last attempt." }),
    created_at: TimestampSchema,
  })
  .openapi("WebhookDelivery");

export const WebhookDeliveryListSchema = listSchema(WebhookDeliverySchema, "WebhookDeliveryList");

const enabledEvents = z
  .array(EVENT_TYPE_OR_ALL)
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .openapi({ description: 'Event types to receive, or `["*"]` for all.' });
const url = z.string().max(WEBHOOK_URL_MAX_CHARS).openapi({
  description:
    "An https: URL of a public host, without control characters or a trailing dot after the host name. Stored and answered in normal form (`HTTPS://Example.COM:443/a/../b` is `https://example.com/b`).",
  example: "https://example.com/webhooks/avatar",
});
const description = textField({ max: 500 }).nullable();

export const CreateWebhookEndpointBody = z
  .strictObject({ url, enabled_events: enabledEvents, description: description.optional() })
  .openapi("CreateWebhookEndpointRequest");

export const UpdateWebhookEndpointBody = z
  .strictObject({
    url: url.optional(),
    enabled_events: enabledEvents.optional(),
    description: description.optional(),
    disabled: z.boolean().optional().openapi({ description: "`true` stops deliveries; `false` enables the endpoint again, whatever disabled it." }),
  })
  .openapi("UpdateWebhookEndpointRequest");

export const ListWebhookEndpointsQuery = z.strictObject({ ...paginationQuery });

export const WebhookEndpointIdParams = z.object({
  endpoint_id: z.string().openapi({ param: { name: "endpoint_id", in: "path" }, example: "we_01JD0000000000000000000000" }),
});
