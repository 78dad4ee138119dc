import type { HitResult, RateLimiter } from "../durable-objects/rate-limiter";
import { doNames } from "../lib/do-names";

export type { HitResult };

/** What a request is counted against: its organisation, or (public routes) its client address. */
export type LimitBucket = { org: string } | { address: string };

/**
 * The rate limiter as the rest of the API sees it. The Durable Object behind it is the only
 * authority for windows and revocations; `enabled: false` is its no-op twin, used only by the
 * benchmark to measure what limiting costs.
 */
export interface Limiter {
  readonly enabled: boolean;
  /** Counts one request against `limit` unless the window is full or `keyId` was revoked. */
  hit(bucket: LimitBucket, limit: number, keyId?: string): Promise<HitResult>;
  /** Makes every isolate refuse `keyId` from its org's next request on. */
  revokeKey(orgId: string, keyId: string): Promise<void>;
}

const nameOf = (bucket: LimitBucket) => ("org" in bucket ? doNames.orgLimiter(bucket.org) : doNames.addressLimiter(bucket.address));

export const durableObjectLimiter = (namespace: DurableObjectNamespace<RateLimiter>): Limiter => ({
  enabled: true,
  hit: (bucket, limit, keyId) => namespace.getByName(nameOf(bucket)).hit(limit, keyId),
  revokeKey: (orgId, keyId) => namespace.getByName(doNames.orgLimiter(orgId)).revokeKey(keyId),
});

export const noLimiter: Limiter = {
  enabled: false,
  hit: async (_bucket, limit) => ({ allowed: true, revoked: false, limit, remaining: limit, resetAt: 0 }),
  revokeKey: async () => {},
};
