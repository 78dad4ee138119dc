import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ACCESS } from "./access";
import type { RouteTable } from "./route-table";

/**
 * CORS, by the Fetch standard's rules. Not Hono's `cors` middleware: it sets its headers on `c.res`
 * before the handler runs, which makes Hono copy every response the handler returns once more; that
 * copy cost 40% of /health's throughput here. Preflights are answered by `preflight` before
 * bodies, authentication and limits; every other response gets `headers` in the one pass that
 * decorates it (request-id.ts).
 */

const ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
/** Allowed when a preflight names no headers (or names them in a malformed list). */
const DEFAULT_ALLOW_HEADERS = "Authorization, Content-Type";
/** An HTTP token (RFC 9110 §5.6.2): what a header name is made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The request headers a preflight allows: those the browser asks for, as Hono's `cors` does by
 * default. Any header is harmless here (no cookies are ever allowed), and a fixed list would break
 * clients the API is built for: the OpenAI SDK's `x-stainless-*` headers on the AI gateway, `Range`
 * and `If-None-Match` on model downloads.
 */
function allowHeaders(requested: string | undefined): string {
  const names = (requested ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return names.length > 0 && names.every((name) => HEADER_NAME.test(name)) ? names.join(", ") : DEFAULT_ALLOW_HEADERS;
}
const MAX_AGE_SECONDS = "600";

/** Headers a browser app may read: the request id, limits, retry hints and what downloads need. */
export const EXPOSED_HEADERS = [
  "X-Request-Id",
  "Server-Timing",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit",
  "RateLimit-Policy",
  "Retry-After",
  "X-Should-Retry",
  "X-TTS-Provider",
  "X-TTS-Characters",
  "X-TTS-Cache",
  "Content-Range",
  "Accept-Ranges",
  "ETag",
].join(", ");

export interface Cors {
  /** Answers a preflight `204` at once; everything else goes on. */
  preflight: MiddlewareHandler<AppEnv>;
  /** The CORS headers of an ordinary (non-preflight) response to a cross-origin request. */
  headers(c: Context<AppEnv>): [string, string][];
}

/**
 * CORS for one app, by the access kind of the route a request reaches in that app's route table.
 * Public routes and signed downloads allow any origin; authenticated routes, and routes mounted
 * without a definition, the configured origins (`*` by default: the API authenticates with bearer
 * tokens, never cookies, so credentials are never allowed and any page may call it with its own key).
 */
export function corsFor(routes: RouteTable): Cors {
  const anyOrigin = (method: string, path: string) => {
    const access = routes.reached(method, path).access;
    return access !== undefined && ACCESS[access].anyOrigin;
  };

  const allowedOrigin = (c: Context<AppEnv>, method: string): string | undefined => {
    const allowed = c.get("config").corsAllowedOrigins;
    if (allowed.includes("*") || anyOrigin(method, c.req.path)) return "*";
    const origin = c.req.header("Origin");
    return origin !== undefined && allowed.includes(origin) ? origin : undefined;
  };

  const headers = (c: Context<AppEnv>): [string, string][] => {
    if (c.req.header("Origin") === undefined || !c.get("config")) return [];
    const origin = allowedOrigin(c, c.req.method);
    const vary: [string, string][] = origin === "*" ? [] : [["Vary", "Origin"]];
    return origin === undefined ? vary : [["Access-Control-Allow-Origin", origin], ["Access-Control-Expose-Headers", EXPOSED_HEADERS], ...vary];
  };

  const preflight = createMiddleware<AppEnv>(async (c, next) => {
    const requestedMethod = c.req.header("Access-Control-Request-Method");
    if (c.req.method !== "OPTIONS" || requestedMethod === undefined) return next();
    const origin = allowedOrigin(c, requestedMethod);
    const answer = new Headers({ Vary: "Origin, Access-Control-Request-Headers" });
    if (origin !== undefined) {
      answer.set("Access-Control-Allow-Origin", origin);
      answer.set("Access-Control-Allow-Methods", ALLOW_METHODS);
      answer.set("Access-Control-Allow-Headers", allowHeaders(c.req.header("Access-Control-Request-Headers")));
      answer.set("Access-Control-Max-Age", MAX_AGE_SECONDS);
    }
    return new Response(null, { status: 204, headers: answer });
  });

  return { preflight, headers };
}
