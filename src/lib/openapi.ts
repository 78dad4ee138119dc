import { type RouteConfig, z } from "@hono/zod-openapi";
import { ERROR_CODES, ERROR_TYPES, type ErrorCode, statusOf } from "./errors";

/**
 * Documentation helpers for the OpenAPI document: shared schemas, response shapes and the security
 * schemes. Nothing here decides behaviour (who may call what lives in middleware/access.ts).
 */

/** Every timestamp on the wire (see lib/time.ts). */
export const TimestampSchema = z.string().openapi({ format: "date-time", example: "2026-01-01T00:00:00Z" });

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      type: z.enum(ERROR_TYPES).openapi({ description: "Broad category; fixes the HTTP status." }),
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({
        description: "Stable dotted subcode to switch on; each operation lists the codes it can return (`x-error-codes`).",
        example: "avatar.not_found",
      }),
      message: z.string().openapi({ description: "For people; not stable." }),
      param: z.string().optional().openapi({ description: "Dotted path of the offending field.", example: "limit" }),
      request_id: z.string().openapi({ description: "Equals the X-Request-Id header.", example: "req_01HXY5K8E7QYG3X8Z6N9R7S0VR" }),
    }),
  })
  .openapi("ApiErrorEnvelope");

const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request: malformed JSON, or a parameter missing, invalid or unknown (`param` names it).",
  401: "Missing, invalid or revoked credentials.",
  402: "Quota exceeded.",
  403: "Credentials of the wrong kind, a read-only resource, or a bad or expired signature.",
  404: "No such resource (another organisation's private records answer the same).",
  405: "Method not allowed on this path; see Allow.",
  409: "Conflict with the resource's state.",
  413: "The request body exceeds 1 MiB.",
  416: "The requested byte range is outside the file; see Content-Range.",
  422: "Understood, but the resource cannot do that now.",
  426: "This route only speaks WebSocket: send an upgrade.",
  429: "Rate limit exceeded; see Retry-After.",
  500: "Internal error; quote the request id.",
  503: "An upstream provider or a setting of this deployment is unavailable.",
};

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
export const headersFor = (rateLimited: boolean) => (rateLimited ? { ...requestIdHeader, ...rateLimitHeaders } : requestIdHeader);

/**
 * One error response per status the codes map to, each listing its codes in the description and in
 * `x-error-codes` (a list SDK generators can turn into an enum).
 */
export function errorResponses(codes: Iterable<ErrorCode>, rateLimited: boolean): RouteConfig["responses"] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: RouteConfig["responses"] = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    list.sort();
    responses[status] = {
      description: `${STATUS_DESCRIPTIONS[status] ?? "Error."} Codes: ${list.map((c) => `\`${c}\``).join(", ")}.`,
      // 401s are answered before the limiter counts the request, so they carry no rate-limit headers.
      headers: headersFor(rateLimited && status !== 401),
      content: { "application/json": { schema: ErrorEnvelopeSchema } },
      "x-error-codes": list,
    } as RouteConfig["responses"][number];
  }
  return responses;
}

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string, rateLimited = true) => ({
  description,
  headers: headersFor(rateLimited),
  content: { "application/json": { schema } },
});

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
  clientSecret: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "A conversation's client secret (`cs_…`, from `POST /v1/conversations`): opens that conversation's WebSocket from a browser.",
  },
} as const;
