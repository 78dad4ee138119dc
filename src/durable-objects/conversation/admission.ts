import { doNames } from "../../lib/do-names";
import { ApiError } from "../../lib/errors";
import { LeaseHolder, LimiterUnavailable } from "../../lib/leases";
import { createLogger } from "../../lib/logger";
import type { HitResult } from "../../lib/rate-limits";
import { secondsUntil } from "../../lib/time";
import type { RateLimiter } from "../rate-limiter";
import type { Caller } from "./connections";

/** A place is held this long past a conversation's maximum duration at the latest (clock skew, the end's own work). */
const PLACE_SLACK_MS = 60_000;

/** The refusal of a conversation over the org's cap, at create and at its first socket alike. */
export const concurrencyError = (cap: number, active: number) =>
  new ApiError(
    "conversation.concurrency_limit",
    `Your organisation has ${active} active conversation${active === 1 ? "" : "s"}, the most it may hold at once (${cap}); end one first.`,
  );

/**
 * An org holds at most `cap` conversations at once, counted from a conversation's first socket
 * until it ends (one created and never joined holds nothing). The org's limiter object keeps the
 * places, so the cap is exact whatever the number of isolates; this is the only blocking call a
 * conversation makes to it, once, when its first socket joins.
 */
export async function claimPlace(
  limiter: DurableObjectNamespace<RateLimiter>,
  conversation: { id: string; orgId: string; maxDurationS: number },
  cap: number,
): Promise<ApiError | undefined> {
  const until = Date.now() + conversation.maxDurationS * 1000 + PLACE_SLACK_MS;
  try {
    const claim = await limiter.getByName(doNames.orgLimiter(conversation.orgId)).claimConversation(conversation.id, cap, until);
    return claim.ok ? undefined : concurrencyError(cap, claim.active);
  } catch {
    // Fail closed, as requests and turns do.
    return new ApiError("rate_limit.unavailable", "The rate limiter cannot be reached; try again in a few seconds.");
  }
}

/** The conversation ended: its place is free. Throws when the limiter cannot be reached (the caller retries). */
export async function releasePlace(limiter: DurableObjectNamespace<RateLimiter>, conversation: { id: string; orgId: string }): Promise<void> {
  await limiter.getByName(doNames.orgLimiter(conversation.orgId)).releaseConversation(conversation.id);
}

/** How many of the org's conversations hold a place now (fails closed when the limiter cannot say). */
export async function activeConversations(limiter: DurableObjectNamespace<RateLimiter>, orgId: string): Promise<number> {
  try {
    return await limiter.getByName(doNames.orgLimiter(orgId)).activeConversations();
  } catch {
    throw new ApiError("rate_limit.unavailable", "The rate limiter cannot be reached; try again in a few seconds.");
  }
}

/**
 * A turn a socket starts (`input.text`, `avatar.speak`) costs one unit of the org's rate limit, like
 * a request: a socket cost one request to open, and without this it could drive upstream models and
 * voices at its frame rate. The unit is spent from a lease of the org's window, exactly as a Worker
 * isolate spends its requests (lib/leases.ts): the org's limiter object may be an ocean away, and a
 * round trip to it before every turn would come straight out of the time to first audio. So the
 * same guarantees hold: never over the limit, revocations within a lease lifetime, fail closed.
 * (A REST message was counted as its request already; the greeting is the conversation's own.)
 */
export type Admission = { ok: true } | { ok: false; error: ApiError; revoked: boolean };

/** One holder per isolate and namespace: every conversation object of the isolate shares its leases. */
const holders = new WeakMap<object, LeaseHolder>();
const holderFor = (limiter: DurableObjectNamespace<RateLimiter>) => {
  let holder = holders.get(limiter);
  if (!holder) {
    const org = (id: string) => limiter.getByName(doNames.orgLimiter(id));
    holder = new LeaseHolder((id) => (ask) => org(id).acquire(ask), `conversations-${crypto.randomUUID()}`, createLogger({ component: "rate-limit" }));
    holders.set(limiter, holder);
  }
  return holder;
};

export async function admitTurn(
  limiter: DurableObjectNamespace<RateLimiter>,
  orgId: string,
  identity: Caller,
  opts: { enabled: boolean; waitUntil: (work: Promise<unknown>) => void },
): Promise<Admission> {
  if (!opts.enabled) return { ok: true };
  let result: HitResult;
  try {
    result = await holderFor(limiter).hit(orgId, identity.orgLimit, identity.keyId ?? undefined, { waitUntil: opts.waitUntil });
  } catch (err) {
    if (!(err instanceof LimiterUnavailable)) throw err;
    // Fail closed, as requests do: nobody can say the limit holds.
    return { ok: false, revoked: false, error: new ApiError("rate_limit.unavailable", "The rate limiter cannot be reached; try again in a few seconds.") };
  }
  if (result.revoked) return { ok: false, revoked: true, error: new ApiError("api_key.revoked", "The API key behind this socket has been revoked.") };
  if (!result.allowed) {
    return {
      ok: false,
      revoked: false,
      error: new ApiError(
        "rate_limit.exceeded",
        `Rate limit of ${result.limit} requests per minute exceeded (each turn counts as one); retry in ${secondsUntil(result.resetAt)} s.`,
      ),
    };
  }
  return { ok: true };
}

/** A key revoked while this isolate held leases: its turns are refused here at once. */
export function turnsOfKeyRevoked(limiter: DurableObjectNamespace<RateLimiter>, keyId: string): void {
  holderFor(limiter).revokedLocally(keyId, undefined);
}
