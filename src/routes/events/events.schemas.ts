import { z } from "@hono/zod-openapi";
import { QUOTA_METRICS, RUNTIME_TYPES, SOURCE_FORMATS } from "../../db/schema";
import { TimestampSchema } from "../../lib/openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";
import { EVENT_TYPES } from "../../webhooks/events";
import { ApiKeySchema } from "../api-keys/api-keys.schemas";
import { ConversationSchema, MessageSchema } from "../conversations/conversations.schemas";
import { WebhookEndpointSchema } from "../webhook-endpoints/webhook-endpoints.schemas";

const envelope = <T extends (typeof EVENT_TYPES)[number], D extends z.ZodType>(type: T, data: D, name: string) =>
  z
    .object({
      id: z.string().openapi({ example: "evt_01JD0000000000000000000000", description: "Also the `webhook-id` header of every delivery of it." }),
      object: z.literal("event"),
      type: z.literal(type),
      created_at: TimestampSchema,
      data,
    })
    .openapi(name);

/** The avatar as its processing outcome names it (`GET /v1/avatars/{id}` has the rest). */
const ProcessedAvatar = z.object({
  id: z.string(),
  object: z.literal("avatar"),
  name: z.string(),
  status: z.enum(["ready", "failed"]),
  runtime_type: z.enum(RUNTIME_TYPES),
  source_format: z.enum(SOURCE_FORMATS),
  failure: z.object({ code: z.string(), message: z.string() }).nullable().openapi({ description: "What to fix, when it failed." }),
});

const endReason = z.string().openapi({ example: "client_ended", description: "The conversation's `end_reason`." });

/** One schema per event type: the exact body a webhook receiver gets. */
export const EventSchema = z
  .discriminatedUnion("type", [
    envelope("conversation.started", z.object({ conversation: ConversationSchema }), "ConversationStartedEvent").openapi({
      description: "The first socket joined the conversation.",
    }),
    envelope(
      "conversation.ended",
      z.object({
        conversation: ConversationSchema,
        reason: endReason,
        duration_s: z.number().int().openapi({ description: "From the first socket joining to the end; 0 if none ever joined." }),
        message_count: z.number().int(),
      }),
      "ConversationEndedEvent",
    ),
    envelope(
      "conversation.transcript.ready",
      z.object({
        conversation_id: z.string(),
        message_count: z.number().int(),
        messages: z.array(MessageSchema).nullable().openapi({ description: "Every message, oldest first; null when the transcript is over 16 KiB." }),
        transcript_url: z
          .string()
          .nullable()
          .openapi({ description: "When `messages` is null: `GET` it with an API key for the transcript in pages (`GET /v1/conversations/{id}/messages`)." }),
      }),
      "ConversationTranscriptReadyEvent",
    ),
    envelope("api_key.created", z.object({ api_key: ApiKeySchema }), "ApiKeyCreatedEvent"),
    envelope("api_key.revoked", z.object({ api_key: ApiKeySchema }), "ApiKeyRevokedEvent"),
    envelope(
      "webhook_endpoint.disabled",
      z.object({ webhook_endpoint: WebhookEndpointSchema, reason: z.enum(["gone", "failing"]) }),
      "WebhookEndpointDisabledEvent",
    ),
    envelope("webhook.test", z.object({ webhook_endpoint_id: z.string(), message: z.string() }), "WebhookTestEvent"),
    envelope(
      "quota.warning",
      z.object({
        metric: z.enum(QUOTA_METRICS),
        scope: z.enum(["org", "key"]).openapi({ description: "The organisation's quota, or the key's own (`key_id`)." }),
        key_id: z.string().nullable(),
        percent: z
          .union([z.literal(80), z.literal(100)])
          .openapi({ description: "80: most of it is used; 100: what needs more is refused until `resets_at`." }),
        used: z.number().int(),
        limit: z.number().int(),
        day: z.string().openapi({ description: "The UTC day counted.", example: "2026-12-03" }),
        resets_at: TimestampSchema,
      }),
      "QuotaWarningEvent",
    ),
    envelope("avatar.ready", z.object({ avatar: ProcessedAvatar }), "AvatarReadyEvent"),
    envelope("avatar.failed", z.object({ avatar: ProcessedAvatar }), "AvatarFailedEvent"),
  ])
  .openapi("Event");

export const EventListSchema = listSchema(EventSchema, "EventList");

/** An event on the wire is its stored payload (what receivers got, byte for byte), built to EventSchema when it was recorded. */
export const eventBody = (row: { payload: string }) => JSON.parse(row.payload) as z.infer<typeof EventSchema>;

export const ListEventsQuery = z.strictObject({
  ...paginationQuery,
  type: z.enum(EVENT_TYPES).optional().openapi({ description: "Only events of this type." }),
});

export const EventIdParams = z.object({
  event_id: z.string().openapi({ param: { name: "event_id", in: "path" }, example: "evt_01JD0000000000000000000000" }),
});

export const RedeliverySchema = z
  .object({
    object: z.literal("event_redelivery"),
    event_id: z.string(),
    endpoint_ids: z.array(z.string()).openapi({ description: "The enabled endpoints subscribed to the event's type now, each sent it again." }),
  })
  .openapi("EventRedelivery");
