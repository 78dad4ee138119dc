/**
 * The rate limiter as the rest of the API sees it (types only; services/limiter.ts implements it
 * over the per-org Durable Object, with a no-op twin for the benchmark).
 */

/**
 * How long the org's limiter object remembers a revoked key (and a lease holder one revoked where
 * it is). Isolates cache API-key lookups for at most `AUTH_CACHE_TTL_MS` (middleware/api-key-auth.ts)
 * and client secrets live 10 minutes; after that, D1 has the revocation.
 */
export const REVOCATION_MEMORY_MS = 10 * 60_000;

/** The org's limiter object's answer to a conversation's first socket: a place, or none left. */
export interface ConversationClaim {
  ok: boolean;
  /** The org's active conversations, counting this one when it was granted. */
  active: number;
}

export interface HitResult {
  /** The request may proceed. */
  allowed: boolean;
  /** The API key named in the hit was revoked (nothing was counted). */
  revoked: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms at which the current window ends. */
  resetAt: number;
  /** The answer waited on the limiter object (a cold or empty lease, or a per-call bucket). */
  blocking?: boolean;
}

/**
 * The org's limiter object's answer to a lease request: a number of tokens of the current window
 * (the first one spent by the request that asked, when it was a blocking ask), valid for `ttlMs`
 * from the moment the holder sent the ask, which ends before the window does on the object's clock.
 */
export interface LeaseReply {
  /** The API key named in the ask is revoked: nothing was granted. */
  revoked: boolean;
  tokens: number;
  limit: number;
  /** Tokens granted to every holder in this window so far, these included. */
  granted: number;
  windowStart: number;
  resetAt: number;
  ttlMs: number;
  /** 0 for the current window; for a lease of the next window, how long until it begins (object's clock). */
  startsInMs: number;
  /** How long until the current window ends (object's clock): when to ask for the next one. */
  windowEndsInMs: number;
  /** Keys of the org revoked within the last ten minutes. */
  revokedKeys: string[];
  /** D1's bookmark after the org's last revocation: reads start at least there. */
  bookmark: string | undefined;
}

/** Who asks for a lease, and what for. */
export interface LeaseAsk {
  holder: string;
  limit: number;
  /** Tokens wanted; a blocking ask wants at least one, for the request that is waiting. */
  want: number;
  keyId?: string | undefined;
  /**
   * Unspent tokens of the holder's expired lease for the window starting at `returnedFor`: they can
   * no longer be spent, so the object may grant them again.
   */
  returned?: number | undefined;
  returnedFor?: number | undefined;
  /** Tokens of the window after the current one, asked shortly before it begins. */
  next?: boolean | undefined;
}

/**
 * What a request is counted against: its organisation, or (public routes) its client address; a
 * failed authentication is counted against its client address in a count of its own.
 */
export type LimitBucket = { org: string } | { address: string } | { authFailures: string };

export interface HitContext {
  waitUntil(promise: Promise<unknown>): void;
  /** Tests and the benchmark only: a name that stands for another isolate holding its own lease. */
  partition?: string | undefined;
}

export interface Limiter {
  /** False only for the no-op twin: nothing is counted and no revocation is heard. */
  readonly enabled: boolean;
  /**
   * Counts one request against `limit` unless the window is full or `keyId` was revoked. `ctx`
   * lets a lease be renewed after the response (`waitUntil`) and names the lease holder.
   */
  hit(bucket: LimitBucket, limit: number, keyId?: string, ctx?: HitContext): Promise<HitResult>;
  /**
   * Makes every isolate refuse `keyId` within one lease lifetime (this one at once). `bookmark` is
   * D1's after the revocation was written: leases carry it, and reads start at least there.
   */
  revokeKey(orgId: string, keyId: string, bookmark?: string): Promise<void>;
  /** The D1 bookmark of the newest revocation this isolate has heard of. */
  readBookmark(): string | undefined;
}
