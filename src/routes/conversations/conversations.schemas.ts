import { z } from "@hono/zod-openapi";
import { CLIENT_PERMISSIONS, CONVERSATION_STATUSES, END_REASONS, OUTPUT_AUDIO_FORMATS } from "../../db/schema";
import { MAX_TEXT_CHARS } from "../../durable-objects/conversation.protocol";
import { TimestampSchema } from "../../lib/openapi";
import { decimalQuery, listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";
import { personaFields } from "../personas/personas.schemas";

export const MessageSchema = z
  .object({
    id: z.string().openapi({ example: "msg_01JD0000000000000000000000" }),
    object: z.literal("message"),
    role: z.enum(["user", "assistant"]),
    content: z.string(),
    turn_id: z.string().openapi({ example: "turn_01JD0000000000000000000000" }),
    interrupted: z.boolean().openapi({ description: "The avatar was interrupted: `content` is what it had said by then." }),
    created_at: TimestampSchema,
  })
  .openapi("Message");

const conversationFields = {
  id: z.string().openapi({ example: "conv_01JD0000000000000000000000" }),
  object: z.literal("conversation"),
  status: z.enum(CONVERSATION_STATUSES),
  avatar_id: z.string().openapi({ example: "av_demo" }),
  persona_id: z.string().nullable().openapi({ example: "per_support_agent" }),
  model: z.string().openapi({ example: "mock:echo" }),
  voice_id: z.string().openapi({ example: "mock:warm" }),
  output_audio_format: z.enum(OUTPUT_AUDIO_FORMATS).openapi({ description: "PCM16 mono rate of `avatar.audio.delta` frames." }),
  transport: z.object({
    type: z.literal("websocket"),
    url: z.string().openapi({ example: "wss://api.example.com/v1/conversations/conv_01JD0000000000000000000000/ws" }),
  }),
  max_duration_s: z.number().int(),
  idle_timeout_s: z.number().int(),
  metadata: z.record(z.string(), z.string()),
  client_permissions: z
    .array(z.enum(CLIENT_PERMISSIONS))
    .openapi({ description: "What a browser holding the client secret may do beyond talking and interrupting (see `CreateConversationRequest`)." }),
  created_at: TimestampSchema,
  started_at: TimestampSchema.nullable().openapi({ description: "When the first socket joined." }),
  ended_at: TimestampSchema.nullable(),
  end_reason: z.enum(END_REASONS).nullable(),
};

export const ConversationSchema = z.object(conversationFields).openapi("Conversation");

export const ConversationWithMessagesSchema = z
  .object({ ...conversationFields, messages: z.array(MessageSchema).openapi({ description: "The newest 100 messages, oldest first." }) })
  .openapi("ConversationWithMessages");

export const CreatedConversationSchema = z
  .object({
    ...conversationFields,
    client_secret: z
      .object({
        value: z.string().openapi({ example: "cs_eyJjIjoiY29udl8uLi4ifQ.c2lnbmF0dXJl" }),
        expires_at: TimestampSchema,
      })
      .openapi({ description: "For a browser: `?token=<value>` opens this conversation's WebSocket only. Shown once." }),
  })
  .openapi("CreatedConversation");

export const ConversationListSchema = listSchema(ConversationSchema, "ConversationList");

export const TurnSchema = z
  .object({
    object: z.literal("turn"),
    id: z.string().openapi({ example: "turn_01JD0000000000000000000000" }),
    status: z.enum(["completed", "interrupted"]).openapi({ description: "`interrupted` when a newer turn or an interrupt cut the reply short." }),
    input: MessageSchema,
    // A union rather than `.nullable()`: on a registered schema the latter comes out as
    // `allOf: [$ref, {type: [object, null]}]`, which no null satisfies.
    output: z.union([MessageSchema, z.null()]).openapi({ description: "The avatar's reply; null when it was interrupted before saying anything." }),
  })
  .openapi("Turn");

const METADATA_KEY = /^[A-Za-z0-9_.:-]{1,40}$/;

/**
 * `__proto__` is refused rather than kept: JSON.parse makes it an own key, but building the record
 * (and many a client's Object.assign) would set a prototype instead, silently dropping the key from
 * what is stored and from the count of keys.
 */
const noProtoKey = (value: unknown, ctx: { issues: z.core.$ZodRawIssue[] }) => {
  if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__")) {
    ctx.issues.push({ code: "custom", message: "is not allowed as a key (it names an object's prototype in JavaScript)", input: value, path: ["__proto__"] });
  }
  return value;
};

const metadata = z
  .preprocess(
    noProtoKey,
    z.record(
      z.string().regex(METADATA_KEY, { error: "keys must be 1 to 40 letters, digits, '_', '.', ':' or '-'" }),
      z.string().max(500, { error: "must be at most 500 characters" }),
    ),
  )
  .refine((m) => Object.keys(m).length <= 20, { error: "must have at most 20 keys" })
  .openapi({ description: "Your own key-value pairs: at most 20 keys, string values of at most 500 characters.", example: { user_id: "u_123" } });

export const CreateConversationBody = z
  .strictObject({
    avatar_id: z
      .string()
      .min(1)
      .openapi({ description: "A session-ready avatar: a look, or a character without looks, `ready` and active.", example: "av_demo" }),
    persona_id: z.string().min(1).optional().openapi({ description: "Its prompt, greeting, model and voice are the defaults.", example: "per_support_agent" }),
    model: personaFields.model.optional().openapi({ description: "Overrides the persona's (default `mock:echo`)." }),
    voice_id: personaFields.default_voice_id.optional().openapi({ description: "Overrides the persona's (default `DEFAULT_VOICE_ID`, `mock:warm`)." }),
    system_prompt: personaFields.system_prompt.optional().openapi({ description: "Overrides the persona's." }),
    greeting: personaFields.greeting.optional().openapi({ description: "Spoken when the first socket joins; overrides the persona's, null for none." }),
    transport: z
      .strictObject({ type: z.string().min(1).openapi({ description: "`websocket`; `pipecat`, `livekit` and `daily` are reserved.", example: "websocket" }) })
      .default({ type: "websocket" }),
    output_audio_format: z.enum(OUTPUT_AUDIO_FORMATS).default("pcm_24000"),
    max_duration_s: z.number().int().min(30).max(3600).default(600).openapi({ description: "30..3600; the conversation ends then (`max_duration`)." }),
    idle_timeout_s: z.number().int().min(10).max(600).default(120).openapi({ description: "10..600; without user input that long, it ends (`idle_timeout`)." }),
    audio_lead_ms: z.number().int().min(200).max(600_000).optional().openapi({
      description:
        "200..600000: how far ahead of real time the avatar's audio is sent (default `CONVERSATION_AUDIO_LEAD_MS`, 1500). More absorbs a slower network; less makes an interrupt discard less. Told to each socket in `session.ready`.",
      example: 1500,
    }),
    metadata: metadata.default({}),
    client_permissions: z
      .array(z.enum(CLIENT_PERMISSIONS))
      .max(CLIENT_PERMISSIONS.length)
      .refine((list) => new Set(list).size === list.length, { error: "must not name a permission twice" })
      .default([])
      .openapi({
        description:
          "Beyond `input.text`, `avatar.interrupt` and `session.keep_alive`, what a socket opened with the client secret may send: `avatar.speak` (words stored as the avatar's own) and `session.end`. Empty by default; sockets opened with an API key may send everything.",
        example: ["session.end"],
      }),
  })
  .openapi("CreateConversationRequest");

export const ListConversationsQuery = z.strictObject({ ...paginationQuery, status: z.enum(CONVERSATION_STATUSES).optional() });

export const ListMessagesQuery = z.strictObject({ ...paginationQuery });
export const MessageListSchema = listSchema(MessageSchema, "MessageList");

export const ConversationIdParams = z.object({
  conversation_id: z.string().openapi({ param: { name: "conversation_id", in: "path" }, example: "conv_01JD0000000000000000000000" }),
});

export const SendMessageBody = z
  .strictObject({
    content: textField({ max: MAX_TEXT_CHARS, multiline: true }).openapi({ description: `What the user says, up to ${MAX_TEXT_CHARS} characters.` }),
    stream: z.boolean().default(false).openapi({ description: "Answer with server-sent events carrying the WebSocket's events of this turn." }),
  })
  .openapi("SendMessageRequest");

export const ConnectQuery = z.strictObject({
  token: z.string().optional().openapi({ description: "The conversation's client secret (browsers cannot set headers on a WebSocket)." }),
  last_seq: decimalQuery(0, Number.MAX_SAFE_INTEGER, "must be a whole number of 0 or more, in decimal digits")
    .optional()
    .openapi({ type: "integer", minimum: 0, description: "Resume: replay every stored event after this seq, then continue live." }),
});
