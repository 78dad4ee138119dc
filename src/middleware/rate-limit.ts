import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import type { HitResult, LimitBucket } from "../lib/rate-limits";
import { keyRevoked } from "./bearer";

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
 * Counts the request before any other work. Over the limit it answers 429 at once; either way the
 * result is kept on the request and its headers go on whatever response follows (request-id.ts).
 */
async function admit(c: Context<AppEnv>, bucket: LimitBucket, max: number, keyId?: string) {
  const limiter = c.get("limiter");
  if (!limiter.enabled) return;
  const result = await limiter.hit(bucket, max, keyId);
  if (result.revoked) throw keyRevoked();
  c.set("rateLimit", result);
  if (!result.allowed) {
    const retryAfter = String(secondsUntil(result.resetAt));
    throw new ApiError("rate_limit.exceeded", `Rate limit of ${max} requests per minute exceeded; retry in ${retryAfter} s.`, {
      headers: { "Retry-After": retryAfter },
    });
  }
}

/** Per organisation, after authentication: the tier's (or the enterprise org's own) per-minute limit. */
export const orgRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { org, key } = c.get("auth");
  await admit(c, { org: org.id }, org.limit, key?.keyId);
  await next();
});

/** Per client address on public endpoints, so one address cannot flood them. */
export const ipRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  await admit(c, { address: c.req.header("CF-Connecting-IP") ?? "unknown" }, c.get("config").publicRateLimitPerMinute);
  await next();
});
