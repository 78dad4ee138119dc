import { doNames } from "../../lib/do-names";
import { ApiError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { HitResult } from "../../lib/rate-limits";
import type { RateLimiter } from "../rate-limiter";
import type { SocketIdentity } from "./sockets";

/**
 * A turn a socket starts (`input.text`, `avatar.speak`) costs one unit of the org's rate limit, like
 * a request: a socket cost one request to open, and without this it could drive upstream models
 * and voices at its frame rate. The org's limiter object counts it in the same window as the
 * org's requests, and refuses keys revoked since, before the turn calls anything. (A REST message
 * was counted as its request already; the greeting is the conversation's own.)
 */
export type Admission = { ok: true } | { ok: false; error: ApiError; revoked: boolean };

export async function admitTurn(
  limiter: DurableObjectNamespace<RateLimiter>,
  orgId: string,
  identity: SocketIdentity,
  opts: { enabled: boolean; log: Logger },
): Promise<Admission> {
  if (!opts.enabled) return { ok: true };
  let result: HitResult;
  try {
    result = await limiter.getByName(doNames.orgLimiter(orgId)).hit(identity.orgLimit, identity.keyId ?? undefined);
  } catch (err) {
    // Fail closed, as requests do: nobody can say the limit holds.
    opts.log.error("rate limiter unreachable: turn refused", { error: err });
    return { ok: false, revoked: false, error: new ApiError("rate_limit.unavailable", "The rate limiter cannot be reached; try again in a few seconds.") };
  }
  if (result.revoked) return { ok: false, revoked: true, error: new ApiError("api_key.revoked", "The API key behind this socket has been revoked.") };
  if (!result.allowed) {
    const retryAfter = Math.max(1, Math.ceil((result.resetAt - Date.now()) / 1000));
    return {
      ok: false,
      revoked: false,
      error: new ApiError("rate_limit.exceeded", `Rate limit of ${result.limit} requests per minute exceeded (each turn counts as one); retry in ${retryAfter} s.`),
    };
  }
  return { ok: true };
}
