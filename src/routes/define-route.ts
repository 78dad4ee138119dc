import { createRoute, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import type { ErrorCode } from "../lib/errors";
import { commonHeaders, errorResponses } from "../lib/openapi";
import { ACCESS, type Access, GLOBAL_CODES } from "../middleware/access";
import { idempotency } from "../middleware/idempotency";
import { ANY_MEDIA_TYPE, requestShape } from "../middleware/request-shape";
import type { RoutePolicy } from "../middleware/route-table";

const VALIDATION_CODES: ErrorCode[] = ["parameter.missing", "parameter.invalid", "parameter.unknown"];

/** What a route that calls an upstream provider can answer about it (providers/upstream.ts maps every failure to one). */
export const PROVIDER_ERRORS = ["provider.not_configured", "provider.unavailable", "provider.timeout", "provider.rate_limited", "provider.rejected"] as const;

/** The handler type of one route in a `<resource>.routes.ts` module. */
export type HandlerOf<Routes, Name extends keyof Routes> = Routes[Name] extends RouteConfig ? RouteHandler<Routes[Name], AppEnv> : never;

/** `/v1/avatars/{avatar_id}` (OpenAPI) → `/v1/avatars/:avatar_id` (Hono). */
export const toHonoPath = (path: string) => path.replaceAll(/\{(\w+)\}/g, ":$1");

/**
 * Where a route definition carries its policy (access kind and error codes) for `createApp()`'s
 * route table. A symbol: it travels with the definition into the app's OpenAPI registry, the record
 * of what was mounted, and never into the published document.
 */
const ROUTE_POLICY = Symbol("route policy");

/** The policy a mounted definition carries, if it was made by `defineRoute`. */
export const policyOf = (route: object): RoutePolicy | undefined => (route as { [ROUTE_POLICY]?: RoutePolicy })[ROUTE_POLICY];

// No `hide`: a hidden route stays out of the OpenAPI registry, and with it out of the route table.
type Definition = Omit<RouteConfig, "middleware" | "security" | "operationId" | "hide"> & {
  /** Stable camelCase name SDK generators turn into a method (`listAvatars`); never renamed once published. */
  operationId: string;
  /** The error codes this route itself can answer, beyond those of its access kind and the global ones. */
  errors?: readonly ErrorCode[];
  /** The answer to `stream: true`, when the route has one (published as `x-stream`, see streamExtension). */
  stream?: StreamDoc;
  /** A body limit above the global 1 MiB, for a route that takes uploads (middleware/body.ts). */
  maxBodyBytes?: number;
  /** The body is a file streamed to storage: any media type, a Content-Length required, never buffered. */
  streamedBody?: true;
};

/** A streamed answer: server-sent events whose `data` the description says. */
export interface StreamDoc {
  status: 200;
  description: string;
}

/**
 * A route that can stream answers `text/event-stream` instead of its JSON when the body says
 * `stream: true`. The stream is described in `x-stream` and the operation's description rather than
 * as a second media type of `responses`: generated clients (openapi-typescript + openapi-fetch,
 * openapi-generator) type an operation's answer as the union of every success media type, so a
 * listed stream would make the JSON answer a `string | Turn` that no program can use unchecked —
 * and a stream is read as a stream (`parseAs: "stream"`), never through that type.
 */
const streamExtension = (stream: StreamDoc) => ({
  "x-stream": { status: stream.status, media_type: "text/event-stream", description: stream.description, request: "`stream: true` in the body" },
});

/**
 * One route: its OpenAPI definition, the middleware of its access kind (auth, limits, bookkeeping),
 * the query-string and body media-type checks, and every error code it can answer, published per
 * status in the document and carried with the access kind as the route's policy (ROUTE_POLICY),
 * which CORS and the test suite's strict error-code check read once the route is mounted.
 */
export const defineRoute = <const R extends Definition>(access: Access, definition: R) => {
  const { errors = [], stream, maxBodyBytes, streamedBody, ...config } = definition;
  const rule = ACCESS[access];
  // Every authenticated POST takes an Idempotency-Key (middleware/idempotency.ts).
  const idempotent = config.method === "post" && access !== "public" && access !== "unmetered";
  const hasQuery = config.request?.query !== undefined;
  const codes: ErrorCode[] = [
    ...GLOBAL_CODES,
    ...rule.codes,
    ...VALIDATION_CODES,
    ...(config.request?.body && !streamedBody ? (["request.invalid_json"] as const) : []),
    ...(idempotent ? (["idempotency.in_progress", "idempotency.key_reused"] as const) : []),
    ...errors,
  ];
  const policy: RoutePolicy = Object.freeze({
    access,
    codes: new Set(codes),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    ...(streamedBody ? { streamedBody } : {}),
  });
  // A streamed file is taken as whatever type it is (`curl -T` sends none).
  const bodyTypes = streamedBody ? [ANY_MEDIA_TYPE] : config.request?.body ? Object.keys(config.request.body.content) : ["application/json"];
  const rateLimited = access !== "unmetered";
  const responses: RouteConfig["responses"] = { ...errorResponses(codes), ...config.responses };
  for (const [status, response] of Object.entries(responses)) {
    if ("$ref" in response) continue; // a shared response carries its own headers
    responses[status] = { ...response, headers: { ...commonHeaders(Number(status), rateLimited), ...(response.headers as object | undefined) } };
  }
  return createRoute({
    ...(config as Omit<R, "errors" | "stream" | "maxBodyBytes" | "streamedBody">),
    ...(stream ? streamExtension(stream) : {}),
    [ROUTE_POLICY]: policy,
    security: rule.security,
    middleware: [...rule.middleware, requestShape({ declaresQuery: hasQuery, bodyTypes }), ...(idempotent ? [idempotency] : [])],
    responses,
  });
};
