import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { routeFor } from "./access";

/**
 * CORS, by the Fetch standard's rules. Not Hono's `cors` middleware: it sets its headers on `c.res`
 * before the handler runs, which makes Hono copy every response the handler returns once more; that
 * copy cost 40% of /health's throughput here. Preflights are answered by `corsPreflight` before
 * bodies, authentication and limits; every other response gets `corsHeaders` in the one pass that
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

const isPublic = (method: string, path: string) => {
  const access = routeFor(method, path)?.access;
  return access === "public" || access === "public_or_api_key" || access === "unmetered";
};

/**
 * The origin a response allows, or undefined: public routes and signed downloads any origin;
 * authenticated routes the configured origins (`*` by default: the API authenticates with bearer
 * tokens, never cookies, so credentials are never allowed and any page may call it with its own key).
 */
function allowedOrigin(c: Context<AppEnv>, method: string): string | undefined {
  const allowed = c.get("config").corsAllowedOrigins;
  if (allowed.includes("*") || isPublic(method, c.req.path)) return "*";
  const origin = c.req.header("Origin");
  return origin !== undefined && allowed.includes(origin) ? origin : undefined;
}

/** The CORS headers of an ordinary (non-preflight) response to a cross-origin request. */
export function corsHeaders(c: Context<AppEnv>): [string, string][] {
  if (c.req.header("Origin") === undefined || !c.get("config")) return [];
  const origin = allowedOrigin(c, c.req.method);
  const vary: [string, string][] = origin === "*" ? [] : [["Vary", "Origin"]];
  return origin === undefined ? vary : [["Access-Control-Allow-Origin", origin], ["Access-Control-Expose-Headers", EXPOSED_HEADERS], ...vary];
}

/** Answers a preflight `204` at once; everything else goes on. */
export const corsPreflight = createMiddleware<AppEnv>(async (c, next) => {
  const requestedMethod = c.req.header("Access-Control-Request-Method");
  if (c.req.method !== "OPTIONS" || requestedMethod === undefined) return next();
  const origin = allowedOrigin(c, requestedMethod);
  const headers = new Headers({ Vary: "Origin, Access-Control-Request-Headers" });
  if (origin !== undefined) {
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
    headers.set("Access-Control-Allow-Headers", allowHeaders(c.req.header("Access-Control-Request-Headers")));
    headers.set("Access-Control-Max-Age", MAX_AGE_SECONDS);
  }
  return new Response(null, { status: 204, headers });
});
