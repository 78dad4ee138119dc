import type { RateLimiter } from "../durable-objects/rate-limiter";
import { doNames } from "../lib/do-names";
import type { LimitBucket, Limiter } from "../lib/rate-limits";

const nameOf = (bucket: LimitBucket) => ("org" in bucket ? doNames.orgLimiter(bucket.org) : doNames.addressLimiter(bucket.address));

/** The real limiter: one Durable Object per org or client address, the only authority on counts. */
export const durableObjectLimiter = (namespace: DurableObjectNamespace<RateLimiter>): Limiter => ({
  enabled: true,
  hit: (bucket, limit, keyId) => namespace.getByName(nameOf(bucket)).hit(limit, keyId),
  revokeKey: (orgId, keyId) => namespace.getByName(doNames.orgLimiter(orgId)).revokeKey(keyId),
});

/** The no-op twin, for the benchmark's with/without comparison only. */
export const noLimiter: Limiter = {
  enabled: false,
  hit: async (_bucket, limit) => ({ allowed: true, revoked: false, limit, remaining: limit, resetAt: 0 }),
  revokeKey: async () => {},
};
