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

  "route.not_found": { type: "not_found" },
  "avatar.not_found": { type: "not_found" },
  "persona.not_found": { type: "not_found" },
  "vertical.not_found": { type: "not_found" },
  "conversation.not_found": { type: "not_found" },
  "api_key.not_found": { type: "not_found" },
  "webhook_endpoint.not_found": { type: "not_found" },
  "event.not_found": { type: "not_found" },

  "conversation.ended": { type: "conflict" },

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
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.type = ERROR_CODES[code].type;
    this.status = statusOf(code);
    this.param = options.param;
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
  new ApiError(`${resource}.not_found`, `No ${resource.replaceAll("_", " ")} with id '${id}'.`);
