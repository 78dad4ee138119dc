import { type RouteConfig, z } from "@hono/zod-openapi";
import { ERROR_CODES, ERROR_TYPES, type ErrorCode, statusOf } from "./errors";
import { NO_STORE } from "./responses";

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

const integer = { type: "integer" as const };
const string = { type: "string" as const };

/**
 * Headers this API sends, as reusable components (`#/components/headers/<name>`): registered once
 * with the document (routes/docs) and referenced from every response that carries them.
 */
export const HEADER_COMPONENTS = {
  "X-Request-Id": { description: "`req_<ULID>`; the same value is the `request_id` of an error body. Quote it in support requests.", schema: string },
  "Server-Timing": {
    description: "Where this request's time went, in milliseconds: `auth`, `limit`, `db`, `app` and `total` (W3C Server Timing; readable from browsers too).",
    schema: string,
  },
  "X-RateLimit-Limit": { description: "Requests allowed in the current minute.", schema: integer },
  "X-RateLimit-Remaining": { description: "Requests left in the current minute.", schema: integer },
  "X-RateLimit-Reset": { description: "Unix seconds when the window ends.", schema: integer },
  "RateLimit-Policy": { description: 'IETF draft policy, e.g. `"minute";q=60;w=60`.', schema: string },
  RateLimit: { description: 'IETF draft state, e.g. `"minute";r=59;t=42`.', schema: string },
  "Retry-After": {
    description: "Seconds to wait before retrying: always on 429; on 503 when a retry can succeed (the provider or the limiter said when).",
    schema: integer,
  },
  "X-Should-Retry": {
    description: "`true` when the same request may succeed later (the official OpenAI and Anthropic clients retry it), `false` when only a change can fix it.",
    schema: { type: "string" as const, enum: ["true", "false"] },
  },
};
export type HeaderName = keyof typeof HEADER_COMPONENTS;

/** A header documented on one route only (the shared ones are HEADER_COMPONENTS). */
export const header = (description: string, schema: { type: "string" | "integer" } = string) => ({ description, schema });

/** `Cache-Control` as a route sends it. */
export const cacheControl = (value: string) => ({ "Cache-Control": header(`\`${value}\``) });

const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` });
const RATE_LIMIT_HEADERS: HeaderName[] = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit"];

/**
 * The headers every response of a route carries, by status: the request id and timings always, the
 * rate-limit state where the route is metered (a 401 is answered before the limiter counts it),
 * `Retry-After` on 429 and 503, `X-Should-Retry` on every error.
 */
export function commonHeaders(status: number, rateLimited: boolean): Record<string, { $ref: string }> {
  const names: HeaderName[] = [
    "X-Request-Id",
    "Server-Timing",
    ...(rateLimited && status !== 401 ? RATE_LIMIT_HEADERS : []),
    ...(status === 429 || status === 503 ? (["Retry-After"] as const) : []),
    ...(status >= 400 ? (["X-Should-Retry"] as const) : []),
  ];
  return Object.fromEntries(names.map((n) => [n, headerRef(n)]));
}

/**
 * One error response per status the codes map to, each listing its codes in the description and in
 * `x-error-codes` (a list SDK generators can turn into an enum).
 */
export function errorResponses(codes: Iterable<ErrorCode>): RouteConfig["responses"] {
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
      ...(status === 416 ? { headers: { "Content-Range": header("`bytes */<size>`: the file's size.") } } : {}),
      content: { "application/json": { schema: ErrorEnvelopeSchema } },
      "x-error-codes": list,
    } as RouteConfig["responses"][number];
  }
  return responses;
}

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string, headers?: Record<string, ReturnType<typeof header>>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema } },
});

/** What a secret-bearing answer says: shown once, never stored by a cache (lib/responses.ts NO_STORE). */
export const NO_STORE_HEADERS = cacheControl(NO_STORE["Cache-Control"]);

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
