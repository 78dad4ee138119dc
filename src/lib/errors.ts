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
 */
export const ERROR_CODES = {
  "request.invalid_json": { type: "invalid_request" },
  "request.too_large": { type: "invalid_request", status: 413 },
  "request.unsupported_media_type": { type: "invalid_request" },
  "parameter.missing": { type: "invalid_request" },
  "parameter.invalid": { type: "invalid_request" },
  "parameter.unknown": { type: "invalid_request" },
  "method.not_allowed": { type: "invalid_request", status: 405 },
  "transport.unsupported": { type: "invalid_request" },
  "provider.rejected": { type: "invalid_request" },
  "websocket.upgrade_required": { type: "invalid_request", status: 426 },
  "range.not_satisfiable": { type: "invalid_request", status: 416 },

  "api_key.missing": { type: "authentication" },
  "api_key.invalid": { type: "authentication" },
  "api_key.revoked": { type: "authentication" },
  "jwt.missing": { type: "authentication" },
  "jwt.invalid": { type: "authentication" },
  "jwt.expired": { type: "authentication" },
  "client_secret.invalid": { type: "authentication" },

  "api_key.wrong_kind": { type: "permission" },
  "signature.invalid": { type: "permission" },
  "signature.expired": { type: "permission" },
  "persona.read_only": { type: "permission" },
  "scope.denied": { type: "permission" },

  "route.not_found": { type: "not_found" },
  "avatar.not_found": { type: "not_found" },
  "persona.not_found": { type: "not_found" },
  "vertical.not_found": { type: "not_found" },
  "conversation.not_found": { type: "not_found" },
  "api_key.not_found": { type: "not_found" },
  "webhook_endpoint.not_found": { type: "not_found" },
  "event.not_found": { type: "not_found" },

  "conversation.ended": { type: "conflict" },
  "conversation.too_many_sockets": { type: "conflict" },
  "webhook_endpoint.limit_reached": { type: "conflict" },

  "avatar.not_ready": { type: "unprocessable" },
  "avatar.not_a_look": { type: "unprocessable" },
  "model.unknown": { type: "unprocessable" },
  "voice.unknown": { type: "unprocessable" },
  "format.unsupported": { type: "unprocessable" },

  "rate_limit.exceeded": { type: "rate_limit" },
  "provider.rate_limited": { type: "rate_limit" },

  internal: { type: "internal" },

  "provider.not_configured": { type: "service_unavailable" },
  "rate_limit.unavailable": { type: "service_unavailable" },
  "provider.unavailable": { type: "service_unavailable" },
  "provider.timeout": { type: "service_unavailable" },
  "jwt.jwks_unavailable": { type: "service_unavailable" },
  "config.secret_missing": { type: "service_unavailable" },
  "config.invalid": { type: "service_unavailable" },
} as const satisfies Record<string, { type: ErrorType; status?: StatusCode }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

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

export const notFound = (resource: NotFoundResource, id: string) =>
  new ApiError(`${resource}.not_found`, `No ${resource.replaceAll("_", " ")} with id ${quote(id)}.`);
