import type { Context } from "hono";
import type { AppEnv } from "../env";
import { clientAddress } from "../lib/client-address";
import { ApiError } from "../lib/errors";
import type { HitResult } from "../lib/rate-limits";
import { secondsUntil } from "../lib/time";
import { TtlCache } from "../lib/ttl-cache";

/**
 * Failed authentications, limited per client address (`AUTH_FAILURES_PER_MINUTE`, IPv6 per /64):
 * guessing keys or client secrets costs a lookup each, so past the limit an address is answered
 * `429` before any lookup for the rest of the minute. The address's own limiter object counts the
 * failures exactly; each isolate remembers the addresses it has seen refused, so only the first
 * failure past the limit in an isolate asks the object (and looks the credential up) again.
 * A credential this isolate has already verified is never refused here.
 */

/** Addresses over their limit, with when their window ends; at most one minute. */
const refused = new TtlCache<string, number>(60_000, 10_000);

const tooMany = (resetAt: number, now = Date.now()) => {
  const retryAfter = String(secondsUntil(resetAt, now));
  return new ApiError("rate_limit.exceeded", `Too many failed authentications from this address; retry in ${retryAfter} s.`, {
    headers: { "Retry-After": retryAfter },
  });
};

const addressOf = (c: Context<AppEnv>) => clientAddress(c.req.header("CF-Connecting-IP"));

/** Throws `429` when this address is known to be over its limit of failures. */
export function refuseIfOverFailureLimit(c: Context<AppEnv>): void {
  const resetAt = refused.get(addressOf(c));
  if (resetAt !== undefined) throw tooMany(resetAt);
}

/**
 * Counts a failed authentication against the caller's address, then throws `error`, or `429` when
 * this failure was one too many. If the count cannot be made, the failure is still the answer.
 */
export async function authenticationFailed(c: Context<AppEnv>, error: ApiError): Promise<never> {
  const limiter = c.get("limiter");
  if (!limiter.enabled) throw error;
  const address = addressOf(c);
  let result: HitResult;
  try {
    result = await limiter.hit({ authFailures: address }, c.get("config").authFailuresPerMinute);
  } catch (err) {
    c.get("log").warn("failed authentication not counted", { error: err });
    throw error;
  }
  // The failure that spends the last of the allowance is still answered as itself; from the next
  // one on, this isolate answers 429 before looking anything up.
  const now = Date.now();
  if (!result.allowed || result.remaining === 0) refused.set(address, result.resetAt, now, Math.max(1, result.resetAt - now));
  throw result.allowed ? error : tooMany(result.resetAt, now);
}
