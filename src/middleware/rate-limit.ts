import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { HitResult } from "../durable-objects/rate-limiter";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { keyRevoked } from "./bearer";

export const rateLimitingEnabled = (env: Bindings) => env.RATE_LIMITING !== "off";

const secondsUntil = (at: number, now = Date.now()) => Math.max(1, Math.ceil((at - now) / 1000));

/** The de-facto X-RateLimit-* trio (Reset in Unix seconds, as the seed shows) and the IETF draft pair. */
export function rateLimitHeaders(r: HitResult): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(r.limit),
    "X-RateLimit-Remaining": String(r.remaining),
    "X-RateLimit-Reset": String(Math.floor(r.resetAt / 1000)),
    "RateLimit-Policy": `"minute";q=${r.limit};w=60`,
    RateLimit: `"minute";r=${r.remaining};t=${secondsUntil(r.resetAt)}`,
  };
}

/**
 * Counts the request in the limiter object `name` before any other work. Over the limit it answers
 * 429 at once; otherwise the headers go on whatever response follows, errors included.
 */
async function limit(c: Context<AppEnv>, next: () => Promise<void>, name: string, max: number, keyId?: string) {
  const result = await c.env.RATE_LIMITER.getByName(name).hit(max, keyId);
  if (result.revoked) throw keyRevoked();
  const headers = rateLimitHeaders(result);
  if (!result.allowed) {
    const retryAfter = String(secondsUntil(result.resetAt));
    throw new ApiError("rate_limit", "rate_limit.exceeded", `Rate limit of ${max} requests per minute exceeded; retry in ${retryAfter} s.`, {
      headers: { ...headers, "Retry-After": retryAfter },
    });
  }
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
}

/** Per organisation, after authentication: the tier's (or the enterprise org's own) per-minute limit. */
export const orgRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (!rateLimitingEnabled(c.env)) return next();
  const { org, key } = c.var.auth;
  return limit(c, next, `org:${org.id}`, org.limit, key?.keyId);
});

/** Per client address on public endpoints, so one address cannot flood them. */
export const ipRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (!rateLimitingEnabled(c.env)) return next();
  const address = c.req.header("CF-Connecting-IP") ?? "unknown";
  return limit(c, next, `ip:${address}`, Number(c.env.PUBLIC_RATE_LIMIT_PER_MINUTE) || 300);
});
