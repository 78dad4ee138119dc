import type { ContentfulStatusCode } from "hono/utils/http-status";

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

export interface ApiErrorBody {
  error: { type: ErrorType; code: string; message: string; param?: string; request_id: string };
}

/**
 * The one error class of the API. Throw it anywhere below a route; `app.onError` turns it into the
 * envelope. `headers` travel with it (Allow on 405, Retry-After on 429).
 */
export class ApiError extends Error {
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;
  readonly status: ContentfulStatusCode;

  /**
   * `status` defaults to the type's; the contract overrides it only for `405 method.not_allowed` and
   * `413 request.too_large`, which keep the `invalid_request` type.
   */
  constructor(
    type: ErrorType,
    code: string,
    message: string,
    options: { param?: string; headers?: Record<string, string>; status?: ContentfulStatusCode } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.type = type;
    this.code = code;
    this.param = options.param;
    this.headers = options.headers ?? {};
    this.status = options.status ?? ERROR_STATUS[type];
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

export const notFound = (resource: string, id: string) =>
  new ApiError("not_found", `${resource}.not_found`, `No ${resource.replaceAll("_", " ")} with id '${id}'.`);
