import { createRoute, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import type { ErrorCode } from "../lib/errors";
import { errorResponses } from "../lib/openapi";
import { ACCESS, type Access, declareRoute, GLOBAL_CODES } from "../middleware/access";
import { requestShape } from "../middleware/request-shape";

const VALIDATION_CODES: ErrorCode[] = ["parameter.missing", "parameter.invalid", "parameter.unknown"];

/** The handler type of one route in a `<resource>.routes.ts` module. */
export type HandlerOf<Routes, Name extends keyof Routes> = Routes[Name] extends RouteConfig ? RouteHandler<Routes[Name], AppEnv> : never;

/** `/v1/avatars/{avatar_id}` (OpenAPI) → `/v1/avatars/:avatar_id` (Hono). */
export const toHonoPath = (path: string) => path.replaceAll(/\{(\w+)\}/g, ":$1");

type Definition = Omit<RouteConfig, "middleware" | "security"> & {
  /** The error codes this route itself can answer, beyond those of its access kind and the global ones. */
  errors?: readonly ErrorCode[];
};

/**
 * One route: its OpenAPI definition, the middleware of its access kind (auth, limits, bookkeeping),
 * the query-string and body media-type checks, and every error code it can answer, published per status in the document
 * and recorded for the test suite's strict error-code check.
 */
export const defineRoute = <const R extends Definition>(access: Access, definition: R) => {
  const { errors = [], ...config } = definition;
  const rule = ACCESS[access];
  const hasQuery = config.request?.query !== undefined;
  const codes: ErrorCode[] = [
    ...GLOBAL_CODES,
    ...rule.codes,
    ...VALIDATION_CODES,
    ...(config.request?.body ? (["request.invalid_json"] as const) : []),
    ...errors,
  ];
  declareRoute(config.method, toHonoPath(config.path), access, codes);
  const bodyTypes = config.request?.body ? Object.keys(config.request.body.content) : ["application/json"];
  return createRoute({
    ...(config as Omit<R, "errors">),
    security: rule.security,
    middleware: [...rule.middleware, requestShape({ declaresQuery: hasQuery, bodyTypes })],
    responses: { ...errorResponses(codes, access !== "unmetered"), ...config.responses },
  });
};
