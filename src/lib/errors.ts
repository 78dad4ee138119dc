import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";

/** The ten error types of the contract; each one fixes the HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  authentication: 401,
  quota_exceeded: 402,
  permission: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limit: 429,
  internal: 500,
  service_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorType = keyof typeof ERROR_STATUS;
export const ERROR_TYPES = Object.keys(ERROR_STATUS) as [ErrorType, ...ErrorType[]];

/**
 * Every error code the API can answer, closed and typed: a code that is not listed here does not
 * compile, and each code fixes its type (and so its status). Routes list the codes they can return
 * (`defineRoute`'s `errors`), which the OpenAPI document publishes per operation so SDKs can switch
 * on them. `status` overrides the type's status for the few codes HTTP gives their own
 * (405, 413, 416, 426) while keeping the `invalid_request` type.
 *
 * `retry` says whether the same request, sent again unchanged, may succeed: it is sent as
 * `X-Should-Retry: true|false` on every error response (see `retryHeader`), which the official
 * OpenAI and Anthropic clients obey before their own status rule (they would otherwise retry every
 * 409, 429 and 5xx). `true`: rate limits, timeouts, upstreams and services that are down for a
 * while, internal errors. `false`: everything only a change of request, credential or deployment
 * setting can fix. The field is required, so a new code does not compile until it is classified.
 */
export const ERROR_CODES = {
  "request.invalid_json": { type: "invalid_request", retry: false },
  "request.too_large": { type: "invalid_request", status: 413, retry: false },
  "request.unsupported_media_type": { type: "invalid_request", retry: false },
  "parameter.missing": { type: "invalid_request", retry: false },
  "parameter.invalid": { type: "invalid_request", retry: false },
  "parameter.unknown": { type: "invalid_request", retry: false },
  "method.not_allowed": { type: "invalid_request", status: 405, retry: false },
  "transport.unsupported": { type: "invalid_request", retry: false },
  // The provider refused the request itself: the same request is refused again.
  "provider.rejected": { type: "invalid_request", retry: false },
  "websocket.upgrade_required": { type: "invalid_request", status: 426, retry: false },
  "range.not_satisfiable": { type: "invalid_request", status: 416, retry: false },
  // An upload streamed to storage must say its size first (R2 takes a stream of known length only).
  "request.length_required": { type: "invalid_request", status: 411, retry: false },

  "api_key.missing": { type: "authentication", retry: false },
  "api_key.invalid": { type: "authentication", retry: false },
  "api_key.revoked": { type: "authentication", retry: false },
  "jwt.missing": { type: "authentication", retry: false },
  "jwt.invalid": { type: "authentication", retry: false },
  "jwt.expired": { type: "authentication", retry: false },
  "client_secret.invalid": { type: "authentication", retry: false },

  "api_key.wrong_kind": { type: "permission", retry: false },
  "signature.invalid": { type: "permission", retry: false },
  "signature.expired": { type: "permission", retry: false },
  "persona.read_only": { type: "permission", retry: false },
  "avatar.read_only": { type: "permission", retry: false },
  "scope.denied": { type: "permission", retry: false },

  "route.not_found": { type: "not_found", retry: false },
  "avatar.not_found": { type: "not_found", retry: false },
  "persona.not_found": { type: "not_found", retry: false },
  "vertical.not_found": { type: "not_found", retry: false },
  "conversation.not_found": { type: "not_found", retry: false },
  "api_key.not_found": { type: "not_found", retry: false },
  "webhook_endpoint.not_found": { type: "not_found", retry: false },
  "event.not_found": { type: "not_found", retry: false },
  "model.not_found": { type: "not_found", retry: false },

  "conversation.ended": { type: "conflict", retry: false },
  // The first request with this Idempotency-Key is still running: retry shortly.
  "idempotency.in_progress": { type: "conflict", retry: true },
  // Lasts until the caller closes one of its sockets; none of these conflicts is a passing lock.
  "conversation.too_many_sockets": { type: "conflict", retry: false },
  "webhook_endpoint.limit_reached": { type: "conflict", retry: false },
  "avatar.limit_reached": { type: "conflict", retry: false },
  // An upload URL takes one upload; a new avatar gets a new URL.
  "avatar.upload_used": { type: "conflict", retry: false },

  // Processing takes minutes, or failed for good: not what an SDK's retry in a second can fix.
  "avatar.not_ready": { type: "unprocessable", retry: false },
  "avatar.not_a_look": { type: "unprocessable", retry: false },
  "model.unknown": { type: "unprocessable", retry: false },
  "voice.unknown": { type: "unprocessable", retry: false },
  "format.unsupported": { type: "unprocessable", retry: false },
  "idempotency.key_reused": { type: "unprocessable", retry: false },

  "rate_limit.exceeded": { type: "rate_limit", retry: true },
  "provider.rate_limited": { type: "rate_limit", retry: true },
  // Lasts until one of the org's conversations ends (minutes): not a passing refusal an SDK should retry.
  "conversation.concurrency_limit": { type: "rate_limit", retry: false },

  // A daily quota: nothing changes until the UTC day does (or the quota is raised).
  "quota.tts_characters": { type: "quota_exceeded", retry: false },
  "quota.conversation_seconds": { type: "quota_exceeded", retry: false },
  "quota.llm_tokens": { type: "quota_exceeded", retry: false },

  internal: { type: "internal", retry: true },

  "rate_limit.unavailable": { type: "service_unavailable", retry: true },
  "provider.unavailable": { type: "service_unavailable", retry: true },
  "provider.timeout": { type: "service_unavailable", retry: true },
  "jwt.jwks_unavailable": { type: "service_unavailable", retry: true },
  // A missing or invalid setting of this deployment stays until an operator changes it.
  "provider.not_configured": { type: "service_unavailable", retry: false },
  "config.secret_missing": { type: "service_unavailable", retry: false },
  "config.invalid": { type: "service_unavailable", retry: false },
} as const satisfies Record<string, { type: ErrorType; status?: StatusCode; retry: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** Whether the same request, sent again unchanged, may succeed (see `ERROR_CODES`). */
export const isRetryable = (code: ErrorCode): boolean => ERROR_CODES[code].retry;

/** The header every error response carries: `X-Should-Retry: true|false`. */
export const retryHeader = (code: ErrorCode): { "X-Should-Retry": "true" | "false" } => ({ "X-Should-Retry": isRetryable(code) ? "true" : "false" });

/** The status a code is answered with. */
export const statusOf = (code: ErrorCode): ContentfulStatusCode => {
  const entry: { type: ErrorType; status?: StatusCode } = ERROR_CODES[code];
  return (entry.status ?? ERROR_STATUS[entry.type]) as ContentfulStatusCode;
};

/** Longest value a message quotes, and the bounds of a whole message and of a `param` path. */
const MAX_QUOTED_CHARS = 100;
const MAX_MESSAGE_CHARS = 1000;
const MAX_PARAM_CHARS = 200;

// C0 and C1 controls, DEL, and the bidirectional formatting characters (U+061C, U+200E-U+200F,
// U+202A-U+202E, U+2066-U+2069) that make a log line or a terminal show text other than what it
// holds: escaped as `\uXXXX`. A lone surrogate (invalid Unicode) becomes U+FFFD.
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]|\p{Cs}/gu;
const LONE_SURROGATE = /^\p{Cs}$/u;

const escapeChar = (ch: string) => (LONE_SURROGATE.test(ch) ? "\uFFFD" : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
const escapeUnsafe = (text: string) => text.replace(UNSAFE, escapeChar);

/**
 * `text` escaped, in at most `max` characters of output (an escape is never cut in half), with an
 * ellipsis when something was left out.
 */
const clip = (text: string, max: number) => {
  let out = "";
  for (const ch of text) {
    const piece = escapeUnsafe(ch);
    if (out.length + piece.length > max) return `${out}…`;
    out += piece;
  }
  return out;
};

/**
 * A value the caller sent, fit to be quoted in a message: in single quotes, at most 100 characters
 * (then `…`), control and bidirectional characters escaped as `\uXXXX`. Ids and names are echoed so a
 * developer sees which one was wrong; a 64 KB or hostile one must not be echoed as sent.
 */
export const quote = (value: unknown) => `'${clip(String(value), MAX_QUOTED_CHARS)}'`;

export interface ApiErrorBody {
  error: { type: ErrorType; code: ErrorCode; message: string; param?: string; request_id: string };
}

/**
 * The one error class of the API. Throw it anywhere below a route; `app.onError` turns it into the
 * envelope. `headers` travel with it (Allow on 405, Retry-After on 429).
 */
export class ApiError extends Error {
  readonly type: ErrorType;
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;
  readonly status: ContentfulStatusCode;

  constructor(code: ErrorCode, message: string, options: { param?: string | undefined; headers?: Record<string, string> } = {}) {
    // Messages quote what the caller sent (`quote` above); this is the net under the ones that do
    // not: no control or bidirectional character and no unbounded length ever reaches a client.
    super(escapeUnsafe(message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message));
    this.name = "ApiError";
    this.code = code;
    this.type = ERROR_CODES[code].type;
    this.status = statusOf(code);
    this.param = options.param === undefined ? undefined : clip(options.param, MAX_PARAM_CHARS);
    this.headers = options.headers ?? {};
  }

  body(requestId: string): ApiErrorBody {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: this.message,
        ...(this.param === undefined ? {} : { param: this.param }),
        request_id: requestId,
      },
    };
  }
}

type NotFoundResource = "avatar" | "persona" | "conversation" | "api_key" | "webhook_endpoint" | "event";

/** `param` names the field that carried the id, when it came in a body (`parent_id`, `avatar_id`). */
export const notFound = (resource: NotFoundResource, id: string, param?: string) =>
  new ApiError(`${resource}.not_found`, `No ${resource.replaceAll("_", " ")} with id ${quote(id)}.`, { param });
