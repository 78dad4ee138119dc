import { z } from "zod";
import { ApiError } from "./lib/errors";
import { createLogger } from "./lib/logger";

/**
 * The deployment's settings, parsed once per `env` object (once per isolate in production) from
 * wrangler.toml's [vars] and the secrets. Route handlers and Durable Objects read settings only
 * from here, so a default, a bound or a missing secret is decided in one place.
 *
 * An empty value means "not set": `PUBLIC_BASE_URL=` in .dev.vars unsets it, and the test pool
 * blanks every setting it does not pin so a developer's .dev.vars cannot change test outcomes.
 */

const unset = (v: unknown) => (v === "" || v === undefined || v === null ? undefined : v);
const optionalText = () => z.preprocess(unset, z.string().optional());
const optionalUrl = () => z.preprocess(unset, z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional());
const intSetting = (min: number, max: number, fallback: number) => z.preprocess(unset, z.coerce.number().int().min(min).max(max).default(fallback));
const flag = (fallback: "on" | "off") => z.preprocess(unset, z.enum(["on", "off"]).default(fallback)).transform((v) => v === "on");

const originList = z.preprocess(
  unset,
  z
    .string()
    .default("*")
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)])).min(1)),
);

const SCHEMA = z.object({
  /** HMAC key of the URLs and tokens this API signs (model downloads, conversation client secrets). */
  ASSET_SIGNING_SECRET: optionalText(),
  /** HS256 key of user JWTs, unless JWT_JWKS_URL is set. */
  JWT_SECRET: optionalText(),
  JWT_JWKS_URL: optionalUrl(),
  JWT_ISSUER: optionalText(),
  JWT_AUDIENCE: optionalText(),
  /** User JWTs issued longer ago than this (`iat`) are refused, whatever their `exp` says. */
  JWT_MAX_AGE_SECONDS: intSetting(60, 30 * 86_400, 86_400),
  /** Origin of URLs the API hands out; the request's own when unset. */
  PUBLIC_BASE_URL: optionalUrl(),
  MODEL_URL_TTL_SECONDS: intSetting(60, 7 * 86_400, 900),
  /** Lifetime of a custom avatar's signed upload URL; an avatar not uploaded by then fails. */
  AVATAR_UPLOAD_TTL_SECONDS: intSetting(5, 7 * 86_400, 3_600),
  PUBLIC_RATE_LIMIT_PER_MINUTE: intSetting(1, 1_000_000, 300),
  /** Failed authentications a client address may make per minute before it is answered 429 without a lookup. */
  AUTH_FAILURES_PER_MINUTE: intSetting(1, 1_000_000, 60),
  /** Sockets one conversation holds at once; the next one is refused. */
  CONVERSATION_MAX_SOCKETS: intSetting(1, 1_000, 8),
  /** How far ahead of real time a conversation sends its audio (ms), unless it sets its own. */
  CONVERSATION_AUDIO_LEAD_MS: intSetting(200, 600_000, 1500),
  /** A socket's speech-to-text session closes after this long without speech (ms): an open upstream socket keeps the object awake. */
  VOICE_STT_IDLE_MS: intSetting(1_000, 600_000, 10_000),
  /** `off` only for the benchmark's with/without comparison. */
  RATE_LIMITING: flag("on"),
  /**
   * Lifetime of a rate-limit lease (ms): the longest a revocation or a tier change takes to reach
   * every isolate. Shorter means more calls to the org's limiter object.
   */
  LIMITER_LEASE_MS: intSetting(1_000, 60_000, 10_000),
  /** The `requests` metric is written once per this window per isolate (ms): one D1 write, not one per request. */
  USAGE_REQUESTS_BATCH_MS: intSetting(10, 60_000, 1_000),
  /** A conversation's turns' usage reaches D1 at most this long after a turn (ms): one write per window, not one per turn. */
  USAGE_CONVERSATIONS_BATCH_MS: intSetting(10, 600_000, 10_000),
  /** Tests and the benchmark only: `X-Sim-Holder` makes a request stand for another isolate's lease holder. */
  LIMITER_SIMULATED_HOLDERS: flag("off"),
  /** Benchmark only: a round trip added to every call of a Durable Object / the D1 primary / a D1 replica (ms). */
  SIM_DO_RTT_MS: intSetting(0, 5_000, 0),
  SIM_D1_PRIMARY_RTT_MS: intSetting(0, 5_000, 0),
  SIM_D1_REPLICA_RTT_MS: intSetting(0, 5_000, 0),
  /** Origins allowed to call authenticated routes from a browser; `*` (any, without credentials) by default. */
  CORS_ALLOWED_ORIGINS: originList,
  /** Tests only: an error code a route did not declare becomes a 500, so drift fails the suite. */
  STRICT_ERROR_CODES: flag("off"),

  // AI providers: a key makes a provider available; a base URL points it at a gateway (Cloudflare AI
  // Gateway, a proxy, a compatible server) or, in tests, at a fake.
  OPENAI_API_KEY: optionalText(),
  OPENAI_BASE_URL: optionalUrl(),
  ANTHROPIC_API_KEY: optionalText(),
  ANTHROPIC_BASE_URL: optionalUrl(),
  GROQ_API_KEY: optionalText(),
  GROQ_BASE_URL: optionalUrl(),
  /** No upstream response within this many ms is `503 provider.timeout`. */
  LLM_FIRST_BYTE_TIMEOUT_MS: intSetting(100, 120_000, 15_000),
  /** A stream that goes quiet for this long is cut with an error event. */
  LLM_STREAM_IDLE_TIMEOUT_MS: intSetting(100, 300_000, 30_000),
  /** Pause between the built-in mock model's words, so its streaming looks like a model's. */
  MOCK_LLM_WORD_INTERVAL_MS: intSetting(0, 5_000, 20),

  // Speech providers (Groq's key and base URL above serve its speech endpoint too).
  ELEVENLABS_API_KEY: optionalText(),
  ELEVENLABS_BASE_URL: optionalUrl(),
  DEEPGRAM_API_KEY: optionalText(),
  DEEPGRAM_BASE_URL: optionalUrl(),
  /** No audio within this many ms is `503 provider.timeout`; so is a stream quiet this long. */
  TTS_FIRST_BYTE_TIMEOUT_MS: intSetting(100, 120_000, 10_000),
  TTS_STREAM_IDLE_TIMEOUT_MS: intSetting(100, 120_000, 10_000),
  /** The voice of `POST /v1/tts` when the request names none. */
  DEFAULT_VOICE_ID: optionalText(),

  /** Local development and tests only: webhook URLs may be http: and point at this machine or a private network. */
  WEBHOOKS_ALLOW_INSECURE_URLS: flag("off"),
  /** A receiver that has not answered within this many ms has failed the attempt. */
  WEBHOOK_TIMEOUT_MS: intSetting(100, 30_000, 15_000),
});

type Parsed = z.output<typeof SCHEMA>;
export type SettingName = keyof typeof SCHEMA.shape;
/** Every setting this module reads (the test pool pins or blanks each one). */
export const SETTING_NAMES = Object.keys(SCHEMA.shape) as SettingName[];

/** An upstream's credentials and address; `apiKey` undefined means "not configured". */
export interface UpstreamSettings {
  apiKey: string | undefined;
  baseUrl: string;
}

/**
 * The Workers AI binding (`[ai] binding = "AI"` in wrangler.toml), as the speech-to-text provider
 * uses it: its own shape, not the runtime's generated `Ai` type, which this project's types leave
 * out while no binding is declared. A binding cannot run offline, so none is declared by default.
 */
export interface AiBinding {
  run(model: string, inputs: Record<string, unknown>, options?: { websocket?: boolean }): Promise<unknown>;
}

const aiBindingOf = (env: object): AiBinding | undefined => {
  const ai = (env as { AI?: unknown }).AI;
  return typeof ai === "object" && ai !== null && typeof (ai as AiBinding).run === "function" ? (ai as AiBinding) : undefined;
};

export interface Config {
  /** The Workers AI binding, when the deployment declares one. */
  ai: AiBinding | undefined;
  publicBaseUrl: string | undefined;
  modelUrlTtlSeconds: number;
  avatarUploadTtlSeconds: number;
  publicRateLimitPerMinute: number;
  authFailuresPerMinute: number;
  conversationMaxSockets: number;
  conversationAudioLeadMs: number;
  voiceSttIdleMs: number;
  rateLimiting: boolean;
  limiter: { leaseMs: number; simulatedHolders: boolean };
  usageRequestsBatchMs: number;
  usageConversationsBatchMs: number;
  /** Benchmark only: added round trips (all 0 unless set). */
  simulatedRtt: { durableObjectMs: number; d1PrimaryMs: number; d1ReplicaMs: number };
  corsAllowedOrigins: string[];
  strictErrorCodes: boolean;
  jwt: {
    secret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    maxAgeSeconds: number;
    /** Why user JWTs cannot be accepted at all (key management answers `503 config.invalid`). */
    problem: string | undefined;
  };
  llm: {
    openai: UpstreamSettings;
    anthropic: UpstreamSettings;
    groq: UpstreamSettings;
    firstByteTimeoutMs: number;
    streamIdleTimeoutMs: number;
    mockWordIntervalMs: number;
  };
  tts: {
    elevenlabs: UpstreamSettings;
    deepgram: UpstreamSettings;
    groq: UpstreamSettings;
    firstByteTimeoutMs: number;
    idleTimeoutMs: number;
    defaultVoiceId: string;
  };
  webhooks: { allowInsecureUrls: boolean; timeoutMs: number };
  /** A secret, or `503 config.secret_missing` naming it. */
  secret(name: SecretName): string;
}

type SecretName = "ASSET_SIGNING_SECRET" | "JWT_SECRET";

const log = createLogger({ component: "config" });

function build(p: Parsed): Omit<Config, "ai"> {
  return {
    publicBaseUrl: p.PUBLIC_BASE_URL,
    modelUrlTtlSeconds: p.MODEL_URL_TTL_SECONDS,
    avatarUploadTtlSeconds: p.AVATAR_UPLOAD_TTL_SECONDS,
    publicRateLimitPerMinute: p.PUBLIC_RATE_LIMIT_PER_MINUTE,
    authFailuresPerMinute: p.AUTH_FAILURES_PER_MINUTE,
    conversationMaxSockets: p.CONVERSATION_MAX_SOCKETS,
    conversationAudioLeadMs: p.CONVERSATION_AUDIO_LEAD_MS,
    voiceSttIdleMs: p.VOICE_STT_IDLE_MS,
    rateLimiting: p.RATE_LIMITING,
    limiter: { leaseMs: p.LIMITER_LEASE_MS, simulatedHolders: p.LIMITER_SIMULATED_HOLDERS },
    usageRequestsBatchMs: p.USAGE_REQUESTS_BATCH_MS,
    usageConversationsBatchMs: p.USAGE_CONVERSATIONS_BATCH_MS,
    simulatedRtt: { durableObjectMs: p.SIM_DO_RTT_MS, d1PrimaryMs: p.SIM_D1_PRIMARY_RTT_MS, d1ReplicaMs: p.SIM_D1_REPLICA_RTT_MS },
    corsAllowedOrigins: p.CORS_ALLOWED_ORIGINS,
    strictErrorCodes: p.STRICT_ERROR_CODES,
    jwt: {
      secret: p.JWT_SECRET,
      jwksUrl: p.JWT_JWKS_URL,
      issuer: p.JWT_ISSUER,
      audience: p.JWT_AUDIENCE,
      maxAgeSeconds: p.JWT_MAX_AGE_SECONDS,
      problem: jwtProblem(p),
    },
    llm: {
      openai: { apiKey: p.OPENAI_API_KEY, baseUrl: p.OPENAI_BASE_URL ?? "https://api.openai.com/v1" },
      anthropic: { apiKey: p.ANTHROPIC_API_KEY, baseUrl: p.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com" },
      groq: { apiKey: p.GROQ_API_KEY, baseUrl: p.GROQ_BASE_URL ?? "https://api.groq.com/openai/v1" },
      firstByteTimeoutMs: p.LLM_FIRST_BYTE_TIMEOUT_MS,
      streamIdleTimeoutMs: p.LLM_STREAM_IDLE_TIMEOUT_MS,
      mockWordIntervalMs: p.MOCK_LLM_WORD_INTERVAL_MS,
    },
    tts: {
      elevenlabs: { apiKey: p.ELEVENLABS_API_KEY, baseUrl: p.ELEVENLABS_BASE_URL ?? "https://api.elevenlabs.io" },
      deepgram: { apiKey: p.DEEPGRAM_API_KEY, baseUrl: p.DEEPGRAM_BASE_URL ?? "https://api.deepgram.com" },
      groq: { apiKey: p.GROQ_API_KEY, baseUrl: p.GROQ_BASE_URL ?? "https://api.groq.com/openai/v1" },
      firstByteTimeoutMs: p.TTS_FIRST_BYTE_TIMEOUT_MS,
      idleTimeoutMs: p.TTS_STREAM_IDLE_TIMEOUT_MS,
      defaultVoiceId: p.DEFAULT_VOICE_ID ?? "mock:warm",
    },
    webhooks: { allowInsecureUrls: p.WEBHOOKS_ALLOW_INSECURE_URLS, timeoutMs: p.WEBHOOK_TIMEOUT_MS },
    secret(name) {
      const value = p[name];
      if (value === undefined) {
        throw new ApiError("config.secret_missing", `This deployment is missing the secret ${name}; the operator must set it (wrangler secret put ${name}).`);
      }
      return value;
    },
  };
}

/**
 * An identity provider signs tokens for every application its users sign in to: without an audience,
 * a token it made for another application (with any `org_id`) would manage this API's keys.
 */
function jwtProblem(p: Parsed): string | undefined {
  if (p.JWT_JWKS_URL !== undefined && p.JWT_AUDIENCE === undefined) return "JWT_JWKS_URL is set without JWT_AUDIENCE";
  return undefined;
}

/** Secrets the deployment cannot work without; reported once, when the settings are first read. */
function missingSecrets(p: Parsed): string[] {
  const missing: string[] = [];
  if (p.ASSET_SIGNING_SECRET === undefined) missing.push("ASSET_SIGNING_SECRET");
  if (p.JWT_SECRET === undefined && p.JWT_JWKS_URL === undefined) missing.push("JWT_SECRET (or JWT_JWKS_URL)");
  return missing;
}

const cache = new WeakMap<object, Config | ApiError>();

/**
 * The settings of this `env`. An invalid setting answers every request `503 config.invalid` (a
 * half-configured deployment must not silently fall back to defaults); the log says which.
 */
export function getConfig(env: object): Config {
  let entry = cache.get(env);
  if (!entry) {
    const parsed = SCHEMA.safeParse(env);
    if (parsed.success) {
      const missing = missingSecrets(parsed.data);
      if (missing.length > 0) log.error("missing secrets: routes that need them answer 503 config.secret_missing", { missing });
      const jwt = jwtProblem(parsed.data);
      if (jwt) log.error("user JWTs cannot be verified safely: key management answers 503 config.invalid", { problem: jwt });
      entry = { ...build(parsed.data), ai: aiBindingOf(env) };
    } else {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      log.error("invalid settings: every request answers 503 config.invalid", { problems });
      entry = new ApiError("config.invalid", "This deployment is misconfigured; the operator has been told which setting is wrong.");
    }
    cache.set(env, entry);
  }
  if (entry instanceof ApiError) throw entry;
  return entry;
}
