import { z } from "@hono/zod-openapi";
import { CLIENT_PERMISSIONS, CONVERSATION_STATUSES, END_REASONS, INPUT_AUDIO_FORMATS, OUTPUT_AUDIO_FORMATS, TURN_DETECTION_TYPES } from "../../db/schema";
import { DEFAULT_STT, DEFAULT_TURN_DETECTION } from "../../db/voice-input";
import { InterruptionInput, LanguageInput, MAX_TEXT_CHARS, SttInput, TurnDetectionInput } from "../../durable-objects/conversation.protocol";
import { TimestampSchema } from "../../lib/openapi";
import { decimalQuery, listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";
import { personaFields } from "../personas/personas.schemas";
import { ToolSchema, ToolsInput } from "../tools.schemas";

export const MessageSchema = z
  .object({
    id: z.string().openapi({ example: "msg_01JD0000000000000000000000" }),
    object: z.literal("message"),
    role: z.enum(["user", "assistant", "tool"]),
    content: z.string().openapi({ description: "What was said; a `tool` message's is the result as the model got it (JSON text)." }),
    turn_id: z.string().openapi({ example: "turn_01JD0000000000000000000000" }),
    interrupted: z.boolean().openapi({ description: "The avatar was interrupted: `content` is what it had said by then." }),
    created_at: TimestampSchema,
    tool_calls: z
      .array(z.object({ id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()).nullable() }))
      .optional()
      .openapi({
        description:
          "On an assistant message that called tools (its `content` is empty: what the avatar said in the turn is the turn's last assistant message). `arguments` is null when the model's were not a JSON object.",
      }),
    tool_call_id: z.string().optional().openapi({ description: "On a `tool` message: the call it answers." }),
    name: z.string().optional().openapi({ description: "On a `tool` message: the tool's name." }),
    is_error: z
      .boolean()
      .optional()
      .openapi({ description: 'On a `tool` message: the tool failed, timed out or was refused; `content` is `{"error": "..."}`.' }),
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
  output_visemes: z.boolean().openapi({ description: "Whether `avatar.audio.delta` frames carry `visemes`." }),
  input_audio_format: z.enum(INPUT_AUDIO_FORMATS).openapi({ description: "PCM16 mono rate of the user's audio frames." }),
  stt: z.string().openapi({ description: "The speech-to-text (`provider:model`) the user's voice goes to.", example: DEFAULT_STT }),
  input_language: z.string().nullable().openapi({ description: "ISO 639-1 of what the user speaks; null: the provider detects it." }),
  turn_detection: z
    .object({
      type: z.enum(TURN_DETECTION_TYPES),
      threshold: z.number(),
      silence_ms: z.number().int(),
      prefix_padding_ms: z.number().int(),
      min_interrupt_ms: z.number().int(),
    })
    .openapi("TurnDetection", { description: "How the end of the user's turn is found, and how long the user's voice must last to interrupt the avatar." }),
  interruption: z
    .object({ enabled: z.boolean(), ignore_words: z.array(z.string()) })
    .openapi("Interruption", { description: "Whether the user's voice interrupts the avatar, and which words alone do not (backchannels)." }),
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
  tools: z.array(ToolSchema).openapi({ description: "What the model may call besides the built-ins (`end_conversation`, `wait_for_user`)." }),
  created_at: TimestampSchema,
  started_at: TimestampSchema.nullable().openapi({ description: "When the first socket joined." }),
  ended_at: TimestampSchema.nullable(),
  end_reason: z.enum(END_REASONS).nullable(),
  usage: z
    .object({
      conversation_seconds: z.number().int().openapi({ description: "From the first socket to the end (to now while it runs), rounded up." }),
      tts_characters: z.number().int().openapi({ description: "Characters of the avatar's replies sent to text to speech." }),
      llm_input_tokens: z.number().int(),
      llm_output_tokens: z.number().int(),
      llm_tokens_estimated: z.number().int().openapi({
        description: "Of the input and output tokens, how many were estimated (about four characters a token) because the provider reported none.",
      }),
      stt_seconds: z.number().int().openapi({ description: "Seconds of the user's voice sent to speech to text." }),
    })
    .openapi("ConversationUsage", {
      description: "What the conversation has consumed, metered to the org and to the API key that created it (`GET /v1/usage`). Turns add to it as they end.",
    }),
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
    output_visemes: z.boolean().default(true).openapi({
      description:
        "Mouth shapes (`visemes`, the 15 OVR visemes with frame-relative times) on every `avatar.audio.delta`, for every voice; false saves their ~1 KB a second.",
    }),
    max_duration_s: z.number().int().min(30).max(3600).default(600).openapi({ description: "30..3600; the conversation ends then (`max_duration`)." }),
    idle_timeout_s: z.number().int().min(10).max(600).default(120).openapi({ description: "10..600; without user input that long, it ends (`idle_timeout`)." }),
    audio_lead_ms: z.number().int().min(200).max(600_000).optional().openapi({
      description:
        "200..600000: how far ahead of real time the avatar's audio is sent (default `CONVERSATION_AUDIO_LEAD_MS`, 1500). More absorbs a slower network; less makes an interrupt discard less. Told to each socket in `session.ready`.",
      example: 1500,
    }),
    metadata: metadata.default({}),
    input_audio_format: z.enum(INPUT_AUDIO_FORMATS).optional().openapi({ description: "PCM16 mono rate of the user's audio frames (default `pcm_16000`)." }),
    stt: SttInput.optional().openapi({
      description: `Speech-to-text for the user's voice, \`provider:model\` (default \`${DEFAULT_STT}\`, which reads back the mock voices offline): mock:default, deepgram:nova-3, deepgram:nova-2, openai:gpt-4o-mini-transcribe, openai:gpt-4o-transcribe, openai:whisper-1, groq:whisper-large-v3-turbo, groq:whisper-large-v3, workers-ai:@cf/deepgram/nova-3, workers-ai:@cf/deepgram/flux, workers-ai:@cf/openai/whisper-large-v3-turbo.`,
      example: DEFAULT_STT,
    }),
    input_language: LanguageInput.nullable().optional().openapi({
      description:
        "ISO 639-1 of what the user speaks (passed to the speech-to-text; picks the default backchannels: en, es, fr, de). Default null: detected, English backchannels.",
      example: "en",
    }),
    turn_detection: TurnDetectionInput.optional().openapi({
      description: `Fields left out keep their defaults: type \`server_vad\` (or \`push_to_talk\`: only input.audio.commit ends the turn), threshold ${DEFAULT_TURN_DETECTION.threshold} (RMS of full scale per 10 ms; 0.001..1), silence_ms ${DEFAULT_TURN_DETECTION.silence_ms} (200..5000), prefix_padding_ms ${DEFAULT_TURN_DETECTION.prefix_padding_ms} (0..1000), min_interrupt_ms ${DEFAULT_TURN_DETECTION.min_interrupt_ms} (100..5000).`,
      example: { type: "server_vad", silence_ms: 700 },
    }),
    interruption: InterruptionInput.optional().openapi({
      description:
        "`enabled` (default true): whether the user's voice interrupts the avatar. `ignore_words` (at most 100, each up to 40 characters): words and phrases that alone are a backchannel and do not interrupt; default per input_language.",
      example: { ignore_words: ["uh-huh", "yeah", "okay"] },
    }),
    tools: ToolsInput.optional().openapi({
      description:
        "Replaces the persona's tools. Each is `client` (answered by a socket with `tool.result`; a client secret's socket only when `client: true`) or `server` (POSTed to `url`, signed like a webhook with the tool's `secret`, its JSON answer the result). The model may also call `end_conversation` and `wait_for_user`. Names unique; at most 32.",
    }),
    client_permissions: z
      .array(z.enum(CLIENT_PERMISSIONS))
      .max(CLIENT_PERMISSIONS.length)
      .refine((list) => new Set(list).size === list.length, { error: "must not name a permission twice" })
      .default([])
      .openapi({
        description:
          "Beyond `input.text`, `avatar.interrupt`, `avatar.playback`, `session.keep_alive` and voice (audio frames, `input.audio.*`), what a socket opened with the client secret may send: `avatar.speak` (words stored as the avatar's own), `session.end` and `session.update` (how the conversation listens, its speech-to-text included). Empty by default; sockets opened with an API key may send everything.",
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
