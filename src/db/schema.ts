import { sql } from "drizzle-orm";
import { type AnySQLiteColumn, check, index, integer, primaryKey, type SQLiteColumn, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** A CHECK constraint that keeps an enum column to its values even for writes that bypass drizzle. */
const oneOf = (column: SQLiteColumn, values: readonly string[]) => sql`${column} IN (${sql.raw(values.map((v) => `'${v}'`).join(", "))})`;

// Timestamps are integer milliseconds since the epoch: they sort and compare cheaply, and the wire
// format (ISO-8601, second precision) is produced in one place (lib/time.ts).
const timestamp = (name: string) => integer(name, { mode: "number" });

export const TIERS = ["free", "creator", "pro", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

/** What a daily quota can cap (`llm_tokens`: input and output together). */
export const QUOTA_METRICS = ["conversation_seconds", "tts_characters", "llm_tokens"] as const;
export type QuotaMetric = (typeof QUOTA_METRICS)[number];
/** Per UTC day, by metric: a number, or null for no cap. */
export type Quotas = Record<QuotaMetric, number | null>;

export const orgs = sqliteTable(
  "orgs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    tier: text("tier", { enum: TIERS }).notNull().default("free"),
    // Only read for the enterprise tier, whose limit is negotiated per org.
    rateLimitPerMinute: integer("rate_limit_per_minute"),
    // Active conversations at once; null = the tier's number (lib/tiers.ts). Any tier may be given one.
    maxConcurrentConversations: integer("max_concurrent_conversations"),
    // JSON object of daily quotas that replace the tier's (metric → number, or null for none).
    quotas: text("quotas"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [check("orgs_tier_check", oneOf(t.tier, TIERS))],
);

export const API_KEY_MODES = ["live", "test"] as const;
export type ApiKeyMode = (typeof API_KEY_MODES)[number];

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    name: text("name").notNull(),
    mode: text("mode", { enum: API_KEY_MODES }).notNull(),
    // Hex SHA-256 of the whole key string; the secret itself is never stored.
    keyHash: text("key_hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    last4: text("last4").notNull(),
    createdAt: timestamp("created_at").notNull(),
    lastUsedAt: timestamp("last_used_at"),
    revokedAt: timestamp("revoked_at"),
    // JSON object of this key's own daily quotas (metric → number), on top of its org's.
    quotas: text("quotas"),
  },
  (t) => [index("api_keys_org_created_idx").on(t.orgId, t.createdAt, t.id), check("api_keys_mode_check", oneOf(t.mode, API_KEY_MODES))],
);

export const AVATAR_STATUSES = ["ready", "processing", "failed"] as const;
export type AvatarStatus = (typeof AVATAR_STATUSES)[number];
export const RUNTIME_TYPES = ["mock", "gaussian"] as const;
export type RuntimeType = (typeof RUNTIME_TYPES)[number];
export const MODEL_FORMATS = ["splat", "ply", "glb", "json"] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];
/** What a custom avatar is uploaded as (POST /v1/avatars `source_format`). */
export const SOURCE_FORMATS = ["ply", "splat", "glb", "image"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export const avatars = sqliteTable(
  "avatars",
  {
    id: text("id").primaryKey(),
    // null = a platform avatar (demos), visible to every org.
    ownerOrgId: text("owner_org_id").references(() => orgs.id),
    // null = a character; otherwise this row is a look of that character.
    parentId: text("parent_id").references((): AnySQLiteColumn => avatars.id),
    name: text("name").notNull(),
    isDemo: integer("is_demo", { mode: "boolean" }).notNull().default(false),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    status: text("status", { enum: AVATAR_STATUSES }).notNull(),
    runtimeType: text("runtime_type", { enum: RUNTIME_TYPES }).notNull(),
    previewImgUrl: text("preview_img_url"),
    videoUrl: text("video_url"),
    // Key of the runtime model in the MODELS bucket; null until fitting produced one.
    modelAssetKey: text("model_asset_key"),
    modelFormat: text("model_format", { enum: MODEL_FORMATS }),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
    // Custom avatars (POST /v1/avatars): the uploaded file's format; null for platform avatars.
    sourceFormat: text("source_format", { enum: SOURCE_FORMATS }),
    // Why processing failed, as `failure: {code, message}`; null unless status is failed.
    failureCode: text("failure_code"),
    failureMessage: text("failure_message"),
    // JSON ModelInfo (services/avatar-uploads.ts): what processing measured; null until ready.
    modelInfo: text("model_info"),
    // R2 key of the preview this API serves as preview_img_url; null when the preview is elsewhere.
    previewAssetKey: text("preview_asset_key"),
    // The signed upload URL's expiry, and when it was used: it takes one upload.
    uploadExpiresAt: timestamp("upload_expires_at"),
    uploadedAt: timestamp("uploaded_at"),
    // Deleted by its org: gone from every read; conversations keep their avatar_id.
    deletedAt: timestamp("deleted_at"),
  },
  (t) => [
    index("avatars_created_idx").on(t.createdAt, t.id),
    index("avatars_parent_idx").on(t.parentId),
    index("avatars_owner_idx").on(t.ownerOrgId),
    check("avatars_status_check", oneOf(t.status, AVATAR_STATUSES)),
    check("avatars_runtime_type_check", oneOf(t.runtimeType, RUNTIME_TYPES)),
    check("avatars_model_format_check", sql`${t.modelFormat} IS NULL OR ${oneOf(t.modelFormat, MODEL_FORMATS)}`),
  ],
);

export const avatarFavorites = sqliteTable(
  "avatar_favorites",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    avatarId: text("avatar_id")
      .notNull()
      .references(() => avatars.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at").notNull().default(sql`(unixepoch() * 1000)`),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.avatarId] })],
);

/** Verticals a persona belongs to; `GET /v1/personas/{vertical}` lists one of them. */
export const PERSONA_VERTICALS = ["education", "support", "sales", "healthcare", "hospitality", "recruiting", "finance", "coaching"] as const;
export type PersonaVertical = (typeof PERSONA_VERTICALS)[number];

export const personas = sqliteTable(
  "personas",
  {
    id: text("id").primaryKey(),
    // null = a preset of the platform, read-only and visible to everyone.
    ownerOrgId: text("owner_org_id").references(() => orgs.id),
    name: text("name").notNull(),
    vertical: text("vertical", { enum: PERSONA_VERTICALS }).notNull(),
    description: text("description").notNull().default(""),
    systemPrompt: text("system_prompt").notNull(),
    // null = the avatar says nothing until spoken to.
    greeting: text("greeting"),
    language: text("language").notNull().default("en"),
    defaultAvatarId: text("default_avatar_id").references(() => avatars.id),
    defaultVoiceId: text("default_voice_id").notNull(),
    model: text("model").notNull(),
    // The speech-to-text of its conversations (`provider:model`); null = the deployment's default.
    stt: text("stt"),
    // JSON list of ToolSpec (src/db/tools.ts): the tools its conversations' model may call.
    tools: text("tools").notNull().default("[]"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    index("personas_created_idx").on(t.createdAt, t.id),
    index("personas_vertical_idx").on(t.vertical, t.createdAt, t.id),
    index("personas_owner_idx").on(t.ownerOrgId, t.createdAt, t.id),
    check("personas_vertical_check", oneOf(t.vertical, PERSONA_VERTICALS)),
  ],
);

export const CONVERSATION_STATUSES = ["active", "ended"] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];
export const OUTPUT_AUDIO_FORMATS = ["pcm_24000", "pcm_16000"] as const;
export type OutputAudioFormat = (typeof OUTPUT_AUDIO_FORMATS)[number];
export const END_REASONS = ["api_ended", "client_ended", "agent_ended", "max_duration", "idle_timeout", "quota_exceeded", "error"] as const;
export type EndReason = (typeof END_REASONS)[number];
/** What a conversation may let a browser's client secret do beyond talking (`client_permissions`). */
export const CLIENT_PERMISSIONS = ["avatar.speak", "session.end", "session.update"] as const;
export type ClientPermission = (typeof CLIENT_PERMISSIONS)[number];
/** The PCM16 mono rates a conversation takes the user's voice in. */
export const INPUT_AUDIO_FORMATS = ["pcm_16000", "pcm_24000"] as const;
export type InputAudioFormat = (typeof INPUT_AUDIO_FORMATS)[number];
export const TURN_DETECTION_TYPES = ["server_vad", "push_to_talk"] as const;
export type TurnDetectionType = (typeof TURN_DETECTION_TYPES)[number];

/**
 * How a conversation listens (voice input): what `POST /v1/conversations` and `session.update`
 * set, with every default filled in. Kept as one JSON column of the index.
 */
export interface VoiceInputSettings {
  input_audio_format: InputAudioFormat;
  /** `provider:model` of the speech-to-text. */
  stt: string;
  /** ISO 639-1 of what the user speaks, or null: the provider detects it, and backchannels are English. */
  input_language: string | null;
  turn_detection: {
    type: TurnDetectionType;
    /** RMS level (fraction of full scale) above which a 10 ms window is voice. */
    threshold: number;
    /** Silence after speech that ends the user's turn (`server_vad`). */
    silence_ms: number;
    /** Audio kept from before the speech began, so its first syllable reaches the transcriber. */
    prefix_padding_ms: number;
    /** Voice at least this long while the avatar speaks interrupts it (barge-in). */
    min_interrupt_ms: number;
  };
  interruption: {
    /** False: the user's voice never interrupts the avatar (it still becomes the next turn). */
    enabled: boolean;
    /** Words that, alone, are a backchannel ("uh-huh"), not an interruption. */
    ignore_words: string[];
  };
}

/**
 * The index of conversations, for listing and org scoping. The conversation itself (messages,
 * events, sockets, timers) lives in its Durable Object, which is the source of truth for its state
 * and writes its start and end back here.
 */
export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    // No foreign keys to avatars and personas: a conversation keeps its history when either is deleted.
    avatarId: text("avatar_id").notNull(),
    personaId: text("persona_id"),
    model: text("model").notNull(),
    voiceId: text("voice_id").notNull(),
    // The PCM format of the avatar's audio frames.
    outputAudioFormat: text("output_audio_format", { enum: OUTPUT_AUDIO_FORMATS }).notNull(),
    status: text("status", { enum: CONVERSATION_STATUSES }).notNull(),
    transportUrl: text("transport_url").notNull(),
    maxDurationS: integer("max_duration_s").notNull(),
    idleTimeoutS: integer("idle_timeout_s").notNull(),
    // JSON object of string values.
    metadata: text("metadata").notNull().default("{}"),
    // JSON list of CLIENT_PERMISSIONS.
    clientPermissions: text("client_permissions").notNull().default("[]"),
    // JSON VoiceInputSettings; '{}' on conversations created before voice input (defaults apply).
    voiceInput: text("voice_input").notNull().default("{}"),
    // JSON list of ToolSpec (src/db/tools.ts), server tools' secrets included.
    tools: text("tools").notNull().default("[]"),
    // Visemes on every audio frame (`output_visemes`).
    outputVisemes: integer("output_visemes", { mode: "boolean" }).notNull().default(true),
    // The API key that created it: its usage is metered, and its quotas applied, to that key.
    keyId: text("key_id"),
    // JSON ConversationUsage (src/db/usage.ts) of its turns so far, written with each index sync.
    usage: text("usage").notNull().default("{}"),
    createdAt: timestamp("created_at").notNull(),
    startedAt: timestamp("started_at"),
    endedAt: timestamp("ended_at"),
    endReason: text("end_reason", { enum: END_REASONS }),
  },
  (t) => [
    index("conversations_org_created_idx").on(t.orgId, t.createdAt, t.id),
    index("conversations_org_status_created_idx").on(t.orgId, t.status, t.createdAt, t.id),
    check("conversations_status_check", oneOf(t.status, CONVERSATION_STATUSES)),
    check("conversations_output_audio_format_check", oneOf(t.outputAudioFormat, OUTPUT_AUDIO_FORMATS)),
    check("conversations_end_reason_check", sql`${t.endReason} IS NULL OR ${oneOf(t.endReason, END_REASONS)}`),
  ],
);

/**
 * `Idempotency-Key`s of POST requests (Stripe's semantics): one row per org, credential and key,
 * written when the first request starts (`in_progress`) and completed with its answer, which a retry
 * with the same body gets again for 24 hours. See middleware/idempotency.ts.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    // The credential that sent it: an API key's id, or `user:<sub>` for a signed-in user.
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    // SHA-256 (hex) of the method, path, query and body: the same key with another request is refused.
    requestHash: text("request_hash").notNull(),
    inProgress: integer("in_progress", { mode: "boolean" }).notNull(),
    responseStatus: integer("response_status"),
    // JSON object of the answer's headers that are replayed (Content-Type, Location...).
    responseHeaders: text("response_headers"),
    responseBody: text("response_body"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.scope, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);

/**
 * What is metered per organisation, API key and UTC day. `llm_tokens_estimated` is how many of
 * the day's `llm_input_tokens` + `llm_output_tokens` were estimated (a provider that reported no
 * usage, a stream cut short) rather than reported.
 */
export const USAGE_METRICS = [
  "conversation_seconds",
  "tts_characters",
  "llm_input_tokens",
  "llm_output_tokens",
  "llm_tokens_estimated",
  "stt_seconds",
  "requests",
] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

export const usage = sqliteTable(
  "usage",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    // UTC day, YYYY-MM-DD: one row per org, day, metric and key, incremented in place.
    day: text("day").notNull(),
    metric: text("metric", { enum: USAGE_METRICS }).notNull(),
    // The API key the usage was made with; '' for none (a signed-in user's requests).
    keyId: text("key_id").notNull().default(""),
    quantity: integer("quantity").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.day, t.metric, t.keyId] }), check("usage_metric_check", oneOf(t.metric, USAGE_METRICS))],
);

export type OrgRow = typeof orgs.$inferSelect;
export type PersonaRow = typeof personas.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type AvatarRow = typeof avatars.$inferSelect;
export type ConversationRow = typeof conversations.$inferSelect;

export const WEBHOOK_DISABLED_REASONS = ["manual", "gone", "failing"] as const;
export type WebhookDisabledReason = (typeof WEBHOOK_DISABLED_REASONS)[number];

/** Where an org's events are POSTed (Standard Webhooks). */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    url: text("url").notNull(),
    description: text("description"),
    // JSON array of event types, or ["*"].
    enabledEvents: text("enabled_events").notNull(),
    // Signing secrets (`whsec_…`) are kept in clear: every delivery needs them to sign.
    secret: text("secret").notNull(),
    // After a rotation the old secret signs alongside the new one until it expires.
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at"),
    disabledAt: timestamp("disabled_at"),
    disabledReason: text("disabled_reason", { enum: WEBHOOK_DISABLED_REASONS }),
    // The first failed attempt since the last success: three days of failures disable the endpoint.
    failingSince: timestamp("failing_since"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    index("webhook_endpoints_org_created_idx").on(t.orgId, t.createdAt, t.id),
    check("webhook_endpoints_disabled_reason_check", sql`${t.disabledReason} IS NULL OR ${oneOf(t.disabledReason, WEBHOOK_DISABLED_REASONS)}`),
  ],
);

/**
 * Every event an org's webhooks may carry. `payload` is the exact JSON every delivery sends (signed
 * byte for byte, never re-serialised); `dispatched_at` stays null until the event's deliveries are on
 * the queue, so a sweep can find what an interrupted dispatch left behind.
 */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    createdAt: timestamp("created_at").notNull(),
    dispatchedAt: timestamp("dispatched_at"),
  },
  (t) => [
    index("events_org_created_idx").on(t.orgId, t.createdAt, t.id),
    index("events_org_type_created_idx").on(t.orgId, t.type, t.createdAt, t.id),
    index("events_undispatched_idx").on(t.createdAt).where(sql`${t.dispatchedAt} IS NULL`),
  ],
);

/** One row per delivery attempt: what the receiver answered, or why there was no answer. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    // No foreign keys: the log outlives a deleted endpoint until it is deleted with it.
    endpointId: text("endpoint_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    success: integer("success", { mode: "boolean" }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    // The first 1 KiB of the receiver's answer.
    responseBody: text("response_body"),
    error: text("error"),
    nextRetryAt: timestamp("next_retry_at"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [index("webhook_deliveries_endpoint_created_idx").on(t.endpointId, t.createdAt, t.id)],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
