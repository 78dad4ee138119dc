import type { Context } from "hono";
import { cors as honoCors } from "hono/cors";
import type { AppEnv } from "../env";
import { routeFor } from "./access";

/** Headers a browser app may read: the request id, limits, retry hints and what downloads need. */
export const EXPOSED_HEADERS = [
  "X-Request-Id",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit",
  "RateLimit-Policy",
  "Retry-After",
  "Content-Range",
  "Accept-Ranges",
  "ETag",
];

const isPublic = (method: string, path: string) => {
  const access = routeFor(method, path)?.access;
  return access === "public" || access === "unmetered";
};

/**
 * Which origin a response allows: public routes and signed downloads any origin; authenticated
 * routes the configured origins (`*` by default: the API authenticates with bearer tokens, never
 * cookies, so no credentials are allowed and any page may call it with its own key).
 */
function allowOrigin(origin: string, c: Context<AppEnv>): string | null {
  const allowed = c.var.config.corsAllowedOrigins;
  if (allowed.includes("*")) return "*";
  const method = c.req.method === "OPTIONS" ? (c.req.header("Access-Control-Request-Method") ?? "GET") : c.req.method;
  if (isPublic(method, c.req.path)) return "*";
  return allowed.includes(origin) ? origin : null;
}

/** Answers preflights (`204`) before authentication and limits; decorates every other response. */
export const cors = honoCors({
  origin: allowOrigin,
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["Authorization", "Content-Type"],
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: 600,
});
