/**
 * Every error the API answers, as one class: its envelope's `type`, `code`, `param` and
 * `request_id`, the HTTP status, and `Retry-After` (seconds) where the API sent one. A failure to
 * reach the API at all is `type: "connection"` with no request id.
 */
export class AvatarApiError extends Error {
  readonly type: string;
  readonly code: string;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  readonly status: number;
  readonly retryAfter: number | undefined;

  constructor(fields: {
    type: string;
    code: string;
    message: string;
    param?: string | undefined;
    requestId?: string | undefined;
    status: number;
    retryAfter?: number | undefined;
  }) {
    super(fields.message);
    this.name = "AvatarApiError";
    this.type = fields.type;
    this.code = fields.code;
    this.param = fields.param;
    this.requestId = fields.requestId;
    this.status = fields.status;
    this.retryAfter = fields.retryAfter;
  }

  /** The error of a response that is not 2xx (whatever its body). */
  static async of(response: Response): Promise<AvatarApiError> {
    const retry = Number(response.headers.get("Retry-After"));
    const retryAfter = Number.isFinite(retry) && response.headers.has("Retry-After") ? retry : undefined;
    let body: { error?: { type?: string; code?: string; message?: string; param?: string; request_id?: string } } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // Not the API's envelope (a proxy's page): the status says what there is to say.
    }
    const e = body.error ?? {};
    return new AvatarApiError({
      type: e.type ?? "api_error",
      code: e.code ?? `http.${response.status}`,
      message: e.message ?? `HTTP ${response.status}`,
      param: e.param,
      requestId: e.request_id ?? response.headers.get("X-Request-Id") ?? undefined,
      status: response.status,
      retryAfter,
    });
  }
}
