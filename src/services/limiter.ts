import type { RateLimiter } from "../durable-objects/rate-limiter";
import { doNames } from "../lib/do-names";
import { LeaseHolder } from "../lib/leases";
import type { Logger } from "../lib/logger";
import type { LimitBucket, Limiter } from "../lib/rate-limits";

/**
 * The real limiter: one Durable Object per org or client address, the only authority on counts.
 * Orgs are counted through leases (lib/leases.ts: no remote call on a warm path); client
 * addresses, on public routes and for failed authentications only, ask their object every time.
 */
export const durableObjectLimiter = (namespace: DurableObjectNamespace<RateLimiter>, log: Logger): Limiter => {
  const org = (id: string) => namespace.getByName(doNames.orgLimiter(id));
  const leases = new LeaseHolder((id) => (ask) => org(id).acquire(ask), `isolate-${crypto.randomUUID()}`, log);
  return {
    enabled: true,
    hit: (bucket: LimitBucket, limit, keyId, ctx) => {
      if ("org" in bucket) return leases.hit(bucket.org, limit, keyId, ctx);
      const name = "address" in bucket ? doNames.addressLimiter(bucket.address) : doNames.authFailures(bucket.authFailures);
      return namespace.getByName(name).hit(limit, keyId);
    },
    revokeKey: async (orgId, keyId, bookmark) => {
      leases.revokedLocally(keyId, bookmark);
      await org(orgId).revokeKey(keyId, bookmark);
    },
    readBookmark: () => leases.readBookmark(),
  };
};

/** The no-op twin, for the benchmark's with/without comparison only. */
export const noLimiter: Limiter = {
  enabled: false,
  hit: async (_bucket, limit) => ({ allowed: true, revoked: false, limit, remaining: limit, resetAt: 0 }),
  revokeKey: async () => {},
  readBookmark: () => undefined,
};
