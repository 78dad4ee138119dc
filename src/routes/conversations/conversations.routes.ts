import { jsonResponse, NO_STORE_HEADERS } from "../../lib/openapi";
import { SSE_HEADERS } from "../../lib/sse";
import { defineRoute, PROVIDER_ERRORS } from "../define-route";
import {
  ConnectQuery,
  ConversationIdParams,
  ConversationListSchema,
  ConversationSchema,
  ConversationWithMessagesSchema,
  CreateConversationBody,
  CreatedConversationSchema,
  ListConversationsQuery,
  ListMessagesQuery,
  MessageListSchema,
  SendMessageBody,
  TurnSchema,
} from "./conversations.schemas";

const tags = ["Conversations"];
const json = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const TURN_ERRORS = ["conversation.not_found", "conversation.ended", "quota.tts_characters", "quota.llm_tokens", ...PROVIDER_ERRORS] as const;

export const createConversation = defineRoute("api_key", {
  method: "post",
  path: "/v1/conversations",
  operationId: "createConversation",
  tags,
  summary: "Create a conversation",
  description:
    "The avatar must be session-ready (`422 avatar.not_a_look` for a character with looks, `422 avatar.not_ready` otherwise); the persona's prompt, greeting, model and voice are defaults the body can override. `transport.type` other than `websocket` is `400 transport.unsupported` for the reserved `pipecat`, `livekit` and `daily`. The answer's `client_secret` (for browsers, 10 minutes, this conversation only, refused once the creating API key is revoked) is shown only here; `client_permissions` says what a socket opened with it may do beyond talking. Voice input: `stt` (else the persona's, else `mock:default`) must be a known speech-to-text model (`422 model.unknown`, `param: stt`) of a configured provider (`503 provider.not_configured`); `turn_detection` and `interruption` fields left out keep their defaults. An org holds at most its tier's number of active conversations at once (free 2, creator 5, pro 20, enterprise 100 unless agreed otherwise), counted from a conversation's first socket until it ends: when that many are active, creating one is `429 conversation.concurrency_limit` (not worth retrying until one ends), and so is the first socket of one created meanwhile (sent as an `error` event, then closed with 1008).",
  request: { body: json(CreateConversationBody) },
  responses: { 201: jsonResponse(CreatedConversationSchema, "The conversation, with its WebSocket URL and client secret.", NO_STORE_HEADERS) },
  errors: [
    "avatar.not_found",
    "avatar.not_a_look",
    "avatar.not_ready",
    "persona.not_found",
    "model.unknown",
    "voice.unknown",
    "format.unsupported",
    "transport.unsupported",
    "conversation.concurrency_limit",
    "quota.conversation_seconds",
    "provider.not_configured",
    "provider.unavailable",
    "provider.timeout",
    "config.secret_missing",
  ],
});

export const listConversations = defineRoute("api_key", {
  method: "get",
  path: "/v1/conversations",
  operationId: "listConversations",
  tags,
  summary: "List your organisation's conversations",
  description: "Newest first; `status` filters.",
  request: { query: ListConversationsQuery },
  responses: { 200: jsonResponse(ConversationListSchema, "A page of conversations.") },
});

export const getConversation = defineRoute("api_key", {
  method: "get",
  path: "/v1/conversations/{conversation_id}",
  operationId: "getConversation",
  tags,
  summary: "Retrieve a conversation with its messages",
  description: "Its newest 100 messages, oldest first.",
  request: { params: ConversationIdParams },
  responses: { 200: jsonResponse(ConversationWithMessagesSchema, "The conversation.") },
  errors: ["conversation.not_found"],
});

export const listMessages = defineRoute("api_key", {
  method: "get",
  path: "/v1/conversations/{conversation_id}/messages",
  operationId: "listConversationMessages",
  tags,
  summary: "List a conversation's messages",
  description: "Newest first, in pages: the whole transcript (`conversation.transcript.ready` points here when its transcript is too large to carry).",
  request: { params: ConversationIdParams, query: ListMessagesQuery },
  responses: { 200: jsonResponse(MessageListSchema, "A page of messages.") },
  errors: ["conversation.not_found"],
});

export const sendMessage = defineRoute("api_key", {
  method: "post",
  path: "/v1/conversations/{conversation_id}/messages",
  operationId: "sendConversationMessage",
  tags,
  summary: "Send a user message and get the avatar's reply",
  description:
    "A turn like `input.text` on the WebSocket: it interrupts a reply in progress, and its events reach every connected socket. Without `stream`, answers `201` with the turn once the reply has been spoken; with `stream: true`, server-sent events (`id` = the event's `seq`, `event` = its `type`, `data` = the event as the sockets get it), ending after `metrics.turn`. A failing provider is an error answer (or an `error` event in a stream); the conversation stays usable.",
  request: { params: ConversationIdParams, body: json(SendMessageBody) },
  responses: { 201: jsonResponse(TurnSchema, "The turn: the user's message and the avatar's reply.") },
  stream: {
    status: 200,
    description: `\`200\` with \`Cache-Control: ${SSE_HEADERS["Cache-Control"]}\`: one event per conversation event of this turn (\`id\` = its \`seq\`, \`event\` = its \`type\`, \`data\` = the event as the sockets get it, see \`x-websocket\`), ending after \`metrics.turn\`.`,
  },
  errors: TURN_ERRORS,
});

export const endConversation = defineRoute("api_key", {
  method: "post",
  path: "/v1/conversations/{conversation_id}/end",
  operationId: "endConversation",
  tags,
  summary: "End a conversation",
  description:
    "Idempotent: ending an ended conversation answers it unchanged (its first end and reason stay). Sockets get `session.ended` and are closed with 1000.",
  request: { params: ConversationIdParams },
  responses: { 200: jsonResponse(ConversationSchema, "The ended conversation.") },
  errors: ["conversation.not_found"],
});

export const connect = defineRoute("client_secret", {
  method: "get",
  path: "/v1/conversations/{conversation_id}/ws",
  operationId: "connectConversation",
  tags,
  summary: "Open the conversation's WebSocket",
  description:
    "An upgrade (`426 websocket.upgrade_required` otherwise), with an API key or `?token=<client secret>`; a secret opens only its own conversation, and its socket may send less (see `x-websocket`). `?last_seq=N` (decimal digits) replays every stored event after N (the last 5 minutes at least), then continues live. At most 8 sockets per conversation: one more is accepted, gets an `error` event `conversation.too_many_sockets` and is closed with 1008. Each `input.text` and `avatar.speak` costs one request of the org's rate limit. The protocol is in this document's `x-websocket` extension.",
  request: { params: ConversationIdParams, query: ConnectQuery },
  responses: { 101: { description: "Switching protocols: the socket is open and receives `session.ready` first." } },
  errors: ["conversation.not_found", "websocket.upgrade_required"],
});
