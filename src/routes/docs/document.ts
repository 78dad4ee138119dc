import { type OpenAPIHono, z } from "@hono/zod-openapi";
import pkg from "../../../package.json";
import type { AppEnv } from "../../env";
import { HEADER_COMPONENTS, SECURITY_SCHEMES } from "../../lib/openapi";
import type { EventType } from "../../webhooks/events";
import { EventSchema } from "../events/events.schemas";
// The document's description: the conventions of the contract and the choices made where it was
// silent, kept beside the README's "Contract" section, which says the same. Prose, so a Markdown
// file (a text module: wrangler.toml [[rules]]), not a string in the code.
import API_DESCRIPTION from "./description.md";
import { websocketProtocol } from "./websocket";

/**
 * The OpenAPI 3.1 document as SDK generators read it: the routes' own definitions plus what a
 * document needs beyond them (tags, reusable headers, the webhooks this API sends), with request
 * bodies filed where generators treat them as input.
 */

/** Every tag an operation uses, in the order a reader meets them; the document test insists each is here. */
export const TAGS = [
  { name: "Health", description: "Liveness, without credentials or rate limits." },
  { name: "Docs", description: "This document and the interactive reference built on it." },
  { name: "Avatars", description: "Characters and their looks: list, retrieve, favourite, and download a look's runtime model through a signed URL." },
  { name: "Personas", description: "Preset behaviour by business vertical (prompt, greeting, model, voice), and your organisation's own." },
  { name: "AI", description: "An OpenAI-compatible chat gateway in front of every configured LLM provider, and its model catalogue." },
  {
    name: "Text to speech",
    description: "Streaming speech from every configured TTS provider, voice catalogue and previews, and each provider's own request shape.",
  },
  {
    name: "Speech to text",
    description: "Transcribe an uploaded audio file with any configured speech-to-text provider, or offline with the mock, which reads the mock voices back.",
  },
  {
    name: "Conversations",
    description:
      "Real-time conversations with an avatar: create one, talk over its WebSocket (`x-websocket` describes the protocol) or REST, read its transcript.",
  },
  { name: "API keys", description: "Your organisation's API keys, managed with a signed-in user's JWT." },
  { name: "Usage", description: "What your organisation has used, per day or per API key, as it is metered (and quotas are counted)." },
  {
    name: "Webhooks",
    description: "Endpoints that receive this API's events (`webhooks` describes each delivery), their delivery log, and the events themselves.",
  },
] as const;

const WEBHOOK_DESCRIPTIONS: Record<EventType, string> = {
  "conversation.started": "The first socket joined a conversation.",
  "conversation.ended": "A conversation ended (by the API, a client, its maximum duration, idle time or an error), with its duration and message count.",
  "conversation.transcript.ready": "A conversation's transcript after it ended: every message, or over 16 KiB a URL to page through them.",
  "api_key.created": "An API key was created (never with its secret).",
  "api_key.revoked": "An API key was revoked.",
  "webhook_endpoint.disabled": "An endpoint stopped receiving events: its receiver answered 410, or every attempt failed for three days.",
  "webhook.test": "Sent by `POST /v1/webhook-endpoints/{endpoint_id}/test`.",
  "quota.warning": "A daily quota of the organisation, or of one of its API keys, reached 80 % and then 100 % (once each per UTC day).",
  "avatar.ready": "A custom avatar's upload was converted: the avatar can start conversations (`data.avatar`: id, name, status, runtime_type, source_format).",
  "avatar.failed":
    "A custom avatar's processing failed; `data.avatar.failure` says what to fix (`avatar.upload_missing`, `avatar.format_invalid`, `avatar.too_large`, `avatar.processing_failed`).",
};

/** The Standard Webhooks headers of every delivery (webhooks/delivery.ts signs them). */
const DeliveryHeaders = z.object({
  "webhook-id": z
    .string()
    .openapi({ description: "The event's id: the same on every retry of it; de-duplicate on it.", example: "evt_01JD0000000000000000000000" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt; refuse deliveries more than 5 minutes off.", example: "1767225600" }),
  "webhook-signature": z.string().openapi({
    description:
      "Space-separated `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<body>`, one per active secret (two during a rotation); any one matching is enough.",
  }),
});

const DELIVERY_RESPONSES = {
  200: { description: "Any 2xx within the endpoint's timeout (15 s by default) acknowledges the delivery; the body is ignored (its first 1 KiB is logged)." },
  410: { description: "Gone: the endpoint is disabled at once (`webhook_endpoint.disabled`, reason `gone`) and receives nothing more." },
  default: {
    description:
      "Anything else, a redirect (not followed), a timeout or a connection failure is retried for about three days with backoff (a `Retry-After` in seconds is honoured when longer); then the endpoint is disabled (reason `failing`).",
  },
};

/** One `webhooks` entry per event type: the POST a receiver gets, named by the type. */
function registerWebhooks(app: OpenAPIHono<AppEnv>) {
  for (const schema of EventSchema.options) {
    const type = schema.shape.type.value;
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: `on${type.replaceAll(/(^|[._])(\w)/g, (_, __, c: string) => c.toUpperCase())}`,
      tags: ["Webhooks"],
      summary: type,
      description: `${WEBHOOK_DESCRIPTIONS[type]} POSTed to every enabled endpoint subscribed to \`${type}\` (or \`*\`), signed the Standard Webhooks way.`,
      request: { headers: DeliveryHeaders, body: { required: true, content: { "application/json": { schema } } } },
      responses: DELIVERY_RESPONSES,
    });
  }
}

type Json = Record<string, unknown>;

/**
 * openapi-typescript (and other generators) read a property with a `default` as always present —
 * right for responses, wrong for requests — except under `requestBody` or `requestBodies`. Request
 * schemas registered as components would lose that, so they are filed as `components.requestBodies`.
 */
function fileRequestBodies(doc: Json) {
  const components = doc.components as { schemas: Record<string, Json>; requestBodies?: Record<string, Json> };
  const bodies: Record<string, Json> = {};
  for (const item of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      const body = operation.requestBody as { content: Record<string, { schema?: { $ref?: string } }> } | undefined;
      const [mediaType, media] = Object.entries(body?.content ?? {})[0] ?? [];
      const ref = media?.schema?.$ref;
      if (!body || !mediaType || !ref || Object.keys(body.content).length !== 1) continue;
      const name = ref.slice("#/components/schemas/".length);
      bodies[name] ??= { ...body, content: { [mediaType]: { ...media, schema: components.schemas[name] } } };
      operation.requestBody = { $ref: `#/components/requestBodies/${name}` };
    }
  }
  for (const name of Object.keys(bodies)) delete components.schemas[name];
  components.requestBodies = bodies;
}

/**
 * Every POST that takes an `Idempotency-Key` (those that can answer `idempotency.key_reused`) gets it
 * as a header parameter. `Idempotent-Replayed` is described there, not as a response header: it is
 * on replays only, and each documented header is on every real answer (openapi.document.test.ts).
 */
function idempotencyHeaders(doc: Json) {
  for (const item of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
    const post = item.post;
    const codes = JSON.stringify(post?.responses ?? {});
    if (!post || !codes.includes("idempotency.key_reused")) continue;
    post.parameters = [
      ...((post.parameters as Json[] | undefined) ?? []),
      {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description:
          "Retry safely: the same key (1 to 255 printable ASCII characters, kept 24 h per org and credential) with the same request answers the first answer again, with `Idempotent-Replayed: true`; with another request `422 idempotency.key_reused`; while the first runs `409 idempotency.in_progress`. Streamed answers (server-sent events, audio) are not kept.",
        schema: { type: "string", maxLength: 255 },
      },
    ];
  }
}

/** Generates the document for one origin (the `servers` entry). */
export function buildDocument(app: OpenAPIHono<AppEnv>, origin: string): Json {
  const doc: Json = {
    ...app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "Avatar API", version: pkg.version, description: API_DESCRIPTION },
      servers: [{ url: origin }],
      tags: [...TAGS],
    }),
    "x-websocket": websocketProtocol(),
  };
  fileRequestBodies(doc);
  idempotencyHeaders(doc);
  return doc;
}

/** Components and webhooks, registered once when the app is built. */
export function registerDocumentComponents(app: OpenAPIHono<AppEnv>) {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  for (const [name, header] of Object.entries(HEADER_COMPONENTS)) app.openAPIRegistry.registerComponent("headers", name, header);
  registerWebhooks(app);
}
