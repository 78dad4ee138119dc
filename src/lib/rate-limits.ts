/**
 * The rate limiter as the rest of the API sees it (types only; services/limiter.ts implements it
 * over the per-org Durable Object, with a no-op twin for the benchmark).
 */

export interface HitResult {
  /** The request may proceed. */
  allowed: boolean;
  /** The API key named in the hit was revoked (nothing was counted). */
  revoked: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms at which the current window ends. */
  resetAt: number;
}

/** What a request is counted against: its organisation, or (public routes) its client address. */
export type LimitBucket = { org: string } | { address: string };

export interface Limiter {
  /** False only for the no-op twin: nothing is counted and no revocation is heard. */
  readonly enabled: boolean;
  /** Counts one request against `limit` unless the window is full or `keyId` was revoked. */
  hit(bucket: LimitBucket, limit: number, keyId?: string): Promise<HitResult>;
  /** Makes every isolate refuse `keyId` from its org's next request on. */
  revokeKey(orgId: string, keyId: string): Promise<void>;
}
