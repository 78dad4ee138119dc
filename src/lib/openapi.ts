import { createRoute, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { apiKeyAuth } from "../middleware/api-key-auth";
import { jwtAuth } from "../middleware/jwt-auth";
import { ipRateLimit, orgRateLimit } from "../middleware/rate-limit";
import { touchApiKey } from "../middleware/touch-api-key";
import { ApiError, ERROR_TYPES } from "./errors";

/** Every timestamp on the wire (see lib/time.ts). */
export const TimestampSchema = z.string().openapi({ format: "date-time", example: "2026-01-01T00:00:00Z" });

/** The handler type of one route in a `<resource>.routes.ts` module. */
export type HandlerOf<Routes, Name extends keyof Routes> = Routes[Name] extends RouteConfig ? RouteHandler<Routes[Name], AppEnv> : never;

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      type: z.enum(ERROR_TYPES).openapi({ description: "Broad category; fixes the HTTP status." }),
      code: z.string().openapi({ description: "Stable dotted subcode to switch on.", example: "avatar.not_found" }),
      message: z.string().openapi({ description: "For people; not stable." }),
      param: z.string().optional().openapi({ description: "Dotted path of the offending field.", example: "limit" }),
      request_id: z.string().openapi({ description: "Equals the X-Request-Id header.", example: "req_01HXY5K8E7QYG3X8Z6N9R7S0VR" }),
    }),
  })
  .openapi("ApiErrorEnvelope");

const ERROR_DESCRIPTIONS = {
  400: "Invalid request: malformed JSON, or a parameter missing, invalid or unknown (`param` names it).",
  401: "Missing, invalid or revoked credentials.",
  402: "Quota exceeded.",
  403: "Credentials of the wrong kind, or a bad or expired signature.",
  404: "No such resource (another organisation's private records answer the same).",
  409: "Conflict with the resource's state.",
  422: "Understood, but the resource cannot do that now.",
  429: "Rate limit exceeded; see Retry-After.",
  500: "Internal error; quote the request id.",
  503: "An upstream provider is unavailable or not configured.",
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const requestIdHeader = {
  "X-Request-Id": { description: "`req_<ULID>`, also in error bodies.", schema: { type: "string" as const } },
};
const rateLimitHeaders = {
  "X-RateLimit-Limit": { description: "Requests allowed in the current minute.", schema: { type: "integer" as const } },
  "X-RateLimit-Remaining": { description: "Requests left in the current minute.", schema: { type: "integer" as const } },
  "X-RateLimit-Reset": { description: "Unix seconds when the window ends.", schema: { type: "integer" as const } },
  "RateLimit-Policy": { description: 'IETF draft policy, e.g. `"minute";q=60;w=60`.', schema: { type: "string" as const } },
  RateLimit: { description: 'IETF draft state, e.g. `"minute";r=59;t=42`.', schema: { type: "string" as const } },
};

export const errorResponse = (status: ErrorStatus, rateLimited = false) => ({
  description: ERROR_DESCRIPTIONS[status],
  headers: rateLimited ? { ...requestIdHeader, ...rateLimitHeaders } : requestIdHeader,
  content: { "application/json": { schema: ErrorEnvelopeSchema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string, rateLimited = true) => ({
  description,
  headers: rateLimited ? { ...requestIdHeader, ...rateLimitHeaders } : requestIdHeader,
  content: { "application/json": { schema } },
});

/**
 * Who may call a route, and therefore which middleware runs before its validators: authentication,
 * then the rate limit (so a rejected request does no other work), then bookkeeping.
 * `unmetered` is for liveness only: a probe answered 429 would look like an outage.
 */
export type Access = "api_key" | "jwt" | "public" | "unmetered";

const ACCESS: Record<Access, { middleware: MiddlewareHandler<AppEnv>[]; security: RouteConfig["security"]; errors: ErrorStatus[] }> = {
  api_key: { middleware: [apiKeyAuth, orgRateLimit, touchApiKey], security: [{ apiKey: [] }], errors: [400, 401, 403, 429, 500] },
  jwt: { middleware: [jwtAuth, orgRateLimit], security: [{ userJwt: [] }], errors: [400, 401, 403, 429, 500, 503] },
  public: { middleware: [ipRateLimit], security: [], errors: [400, 429, 500] },
  unmetered: { middleware: [], security: [], errors: [400, 500] },
};

/**
 * Routes that declare no query parameters still reject unknown ones (`parameter.unknown`), with the
 * same error zod's strict objects give, but without running a validator on every bare request.
 */
const noQuery: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.url.includes("?")) {
    const first = new URL(c.req.url).searchParams.keys().next();
    if (!first.done) throw new ApiError("invalid_request", "parameter.unknown", `Unknown parameter '${first.value}'.`, { param: first.value });
  }
  await next();
};

/**
 * `createRoute` with the house rules: the access middleware (auth, then rate limit) runs before the
 * validators, unknown query parameters are rejected, and the shared error responses and headers are
 * documented on every operation.
 */
export const defineRoute = <const R extends Omit<RouteConfig, "middleware" | "security">>(access: Access, config: R) => {
  const { middleware, security, errors } = ACCESS[access];
  const rateLimited = access !== "unmetered";
  const errorResponses = Object.fromEntries(errors.map((status) => [status, errorResponse(status, rateLimited && status !== 401)]));
  return createRoute({
    ...config,
    security,
    middleware: config.request?.query ? middleware : [...middleware, noQuery],
    responses: { ...errorResponses, ...config.responses },
  });
};

export const SECURITY_SCHEMES = {
  apiKey: {
    type: "http",
    scheme: "bearer",
    description: "An API key: `av_live_…` or `av_test_…`.",
  },
  userJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A signed-in user's JWT with claims `sub`, `org_id` and `exp` (key management only).",
  },
} as const;
