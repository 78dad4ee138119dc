import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { clientAddress } from "../lib/client-address";
import { ApiError } from "../lib/errors";
import { LimiterUnavailable } from "../lib/leases";
import type { HitContext, HitResult, LimitBucket } from "../lib/rate-limits";
import { secondsUntil } from "../lib/time";
import { keyRevoked } from "./bearer";
import { inBackground } from "./context";

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

/** Lets a lease renew after the response; names a simulated holder where tests and the benchmark ask. */
function hitContext(c: Context<AppEnv>): HitContext {
  return {
    waitUntil: (promise) => inBackground(c, promise),
    partition: c.get("config").limiter.simulatedHolders ? c.req.header("X-Sim-Holder") : undefined,
  };
}

/**
 * Counts the request before any other work. Over the limit it answers 429 at once; either way the
 * result is kept on the request and its headers go on whatever response follows (request-id.ts).
 */
async function admit(c: Context<AppEnv>, bucket: LimitBucket, max: number, keyId?: string) {
  const limiter = c.get("limiter");
  if (!limiter.enabled) return;
  let result: HitResult;
  try {
    result = await c.get("timing").measure(
      "limit",
      () => limiter.hit(bucket, max, keyId, hitContext(c)),
      (r) => (r.blocking === false ? "lease" : "ask"),
    );
  } catch (err) {
    if (!(err instanceof LimiterUnavailable)) throw err;
    // Fail closed: without the org's object and without a lease, nobody can say the limit holds.
    throw new ApiError("rate_limit.unavailable", "The rate limiter cannot be reached; retry in a few seconds.", { headers: { "Retry-After": "1" } });
  }
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
  const { org, key, issuedBy } = c.get("auth");
  // A client secret is refused with the key that minted it: it lives 10 minutes, and the org's
  // limiter remembers revocations for 10 minutes, so every secret of a revoked key is covered.
  await admit(c, { org: org.id }, org.limit, key?.keyId ?? issuedBy);
  await next();
});

/** Per client address on public endpoints, so one address cannot flood them. */
export const ipRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  await admit(c, { address: clientAddress(c.req.header("CF-Connecting-IP")) }, c.get("config").publicRateLimitPerMinute);
  await next();
});
