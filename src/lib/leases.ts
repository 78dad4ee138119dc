import type { Logger } from "./logger";
import { type HitContext, type HitResult, type LeaseAsk, type LeaseReply, REVOCATION_MEMORY_MS } from "./rate-limits";
import { nextTask } from "./time";

/**
 * The holder's side of leased rate limits: a Worker isolate for its requests (services/limiter.ts),
 * or a conversation object's isolate for its turns (durable-objects/conversation/admission.ts). The
 * org's limiter object is the only authority: it grants each isolate (each "holder") tokens of the
 * current window, at most what is left, and the isolate spends them with no remote call. A token is
 * only ever spent before its lease ends, and a lease ends before its window ends on the object's
 * clock, so across every isolate the requests admitted in a window never exceed the tokens granted
 * for it, which never exceed the limit.
 *
 * - hot path: an unexpired lease with tokens → spend one, no await;
 * - renewal: in the background (single-flight) when the tokens would last under a second at the
 *   isolate's recent rate, or half the lease lifetime has passed; sized to two seconds of that rate
 *   (the object caps it at a fair share of what is left);
 * - cold path (no lease, expired, empty, or the limit changed): one blocking ask that returns both
 *   the decision and a lease; if the object cannot be reached, the request is refused (fail closed);
 * - revocation: every lease carries the org's recently revoked keys, so a revoked key is refused
 *   everywhere within one lease lifetime, and at once in the isolate that revoked it.
 *
 * Tokens left in a lease when its window ends are simply never spent: the limit can be under-used
 * at a window's end, never exceeded.
 */

/** Seconds of the isolate's recent rate a lease is sized for, and the reserve that triggers renewal. */
const TARGET_S = 2;
const RESERVE_S = 1;
/** How far back the isolate's own rate is measured. */
const RATE_WINDOW_MS = 1_000;
/** A holder asks for the next window's tokens this long before its lease ends with the window. */
const PREFETCH_MS = 2_000;
/**
 * A background ask (renewal, next window) leaves this long after the admission that prompted it,
 * so the caller's own work goes out first instead of sharing the moment with an ask to the
 * limiter object: a conversation turn's request to its model left ~0.5 ms later when a renewal
 * was sent at once (the bench's turn probe, every second turn). The reserve (`RESERVE_S`) and the
 * prefetch margin are seconds, so the wait costs the lease nothing.
 */
const BACKGROUND_ASK_DELAY_MS = 10;

export type AskFn = (ask: LeaseAsk) => Promise<LeaseReply>;

interface Lease {
  limit: number;
  tokens: number;
  /** Org-wide tokens granted in the window when this lease last heard from the object. */
  granted: number;
  windowStart: number;
  resetAt: number;
  /** On this isolate's clock: the ask's send time plus the lifetime the object gave. */
  expiresAt: number;
  grantedAt: number;
  revoked: Set<string>;
  renewing: boolean;
  /** On this isolate's clock, at the latest: when the window ends (the object's view of it). */
  windowEndsAt: number;
  /** The next window's lease, fetched shortly before the boundary; usable from `validFrom`. */
  next: { lease: Lease; validFrom: number } | undefined;
  prefetching: boolean;
  /** Admissions in the current rate window, and when that window began. */
  recent: number;
  recentSince: number;
  rate: number;
}

/** What an isolate has done with leases, for the structured log. */
export interface LeaseCounters {
  blocking: number;
  renewals: number;
  grants: number;
  tokensGranted: number;
  localAdmissions: number;
  failClosed: number;
}

export class LeaseHolder {
  private readonly leases = new Map<string, Lease>();
  /** Keys this isolate revoked itself, refused here at once (the object learns of them too). */
  private readonly revokedHere = new Map<string, number>();
  readonly counters: LeaseCounters = { blocking: 0, renewals: 0, grants: 0, tokensGranted: 0, localAdmissions: 0, failClosed: 0 };
  private lastReport = 0;
  private bookmark: string | undefined;

  constructor(
    private readonly ask: (org: string) => AskFn,
    /** This isolate's name, unique per isolate: the object shares the allowance among holders. */
    private readonly isolate: string,
    private readonly log: Logger,
    private readonly revocationMemoryMs = REVOCATION_MEMORY_MS,
  ) {}

  /** The D1 bookmark of the newest revocation a lease has brought (or this isolate made). */
  readBookmark(): string | undefined {
    return this.bookmark;
  }

  /** This isolate revoked `keyId`: refused here from now on, whatever the leases say. */
  revokedLocally(keyId: string, bookmark: string | undefined, now = Date.now()): void {
    this.revokedHere.set(keyId, now);
    if (bookmark !== undefined) this.bookmark = bookmark;
    for (const [id, at] of this.revokedHere) if (now - at > this.revocationMemoryMs) this.revokedHere.delete(id);
  }

  async hit(org: string, limit: number, keyId: string | undefined, ctx: HitContext | undefined): Promise<HitResult> {
    const holderKey = ctx?.partition === undefined ? org : `${org}\u0000${ctx.partition}`;
    const holder = ctx?.partition === undefined ? this.isolate : `${this.isolate}/${ctx.partition}`;
    const now = Date.now();
    if (keyId !== undefined && this.revokedHere.has(keyId)) return refusedRevoked(limit, now);
    const lease = this.current(holderKey, now);
    const live = lease !== undefined && now < lease.expiresAt && lease.limit === limit;
    if (live && keyId !== undefined && lease.revoked.has(keyId)) return { ...refusedRevoked(limit, lease.resetAt), blocking: false };
    if (live && lease.tokens > 0) {
      lease.tokens -= 1;
      this.counters.localAdmissions += 1;
      this.note(lease, now);
      if (!lease.renewing && (lease.tokens < Math.ceil(lease.rate * RESERVE_S) || now - lease.grantedAt >= (lease.expiresAt - lease.grantedAt) / 2)) {
        ctx?.waitUntil(this.renew(org, holder, holderKey, lease));
      }
      if (!lease.next && !lease.prefetching && now >= lease.windowEndsAt - PREFETCH_MS && lease.rate > 0) {
        ctx?.waitUntil(this.prefetch(org, holder, lease));
      }
      return admitted(lease, false);
    }
    // The object said the window is spent: refuse here until the lease ends (the limit may change).
    if (live && lease.granted >= limit) return { allowed: false, revoked: false, limit, remaining: 0, resetAt: lease.resetAt, blocking: false };
    return this.blocking(org, holder, holderKey, limit, keyId, lease);
  }

  /** The cold path: one ask for this request's token and a lease. */
  private async blocking(
    org: string,
    holder: string,
    holderKey: string,
    limit: number,
    keyId: string | undefined,
    previous: Lease | undefined,
  ): Promise<HitResult> {
    const sentAt = Date.now();
    const rate = previous && sentAt - previous.recentSince < 2 * RATE_WINDOW_MS ? Math.max(previous.rate, previous.recent) : 0;
    this.counters.blocking += 1;
    let reply: LeaseReply;
    try {
      reply = await this.ask(org)({ holder, limit, keyId, want: 1 + Math.ceil(rate * TARGET_S), ...this.giveBack(previous, sentAt) });
    } catch (err) {
      this.counters.failClosed += 1;
      this.log.error("rate limiter unreachable and no lease: refusing", { org_id: org, counters: this.counters, error: err });
      throw new LimiterUnavailable();
    }
    if (reply.revoked) return refusedRevoked(limit, reply.resetAt);
    const lease = this.apply(holderKey, reply, sentAt, previous);
    // The lease's tokens, not the reply's: a renewal answered while this ask was out may have
    // brought this isolate the window's last tokens, which is why the object had none for this ask.
    if (lease.tokens === 0) return { allowed: false, revoked: false, limit, remaining: 0, resetAt: reply.resetAt, blocking: true };
    lease.tokens -= 1;
    this.note(lease, Date.now());
    return admitted(lease, true);
  }

  /** The holder's lease; past the boundary, the next window's lease fetched ahead takes over. */
  private current(holderKey: string, now: number): Lease | undefined {
    const lease = this.leases.get(holderKey);
    const next = lease?.next;
    if (!lease || !next || now < lease.expiresAt || now < next.validFrom || now >= next.lease.expiresAt) return lease;
    this.leases.set(holderKey, next.lease);
    return next.lease;
  }

  /** The next window's tokens, asked shortly before this window ends; a failure costs one ask later. */
  private async prefetch(org: string, holder: string, lease: Lease): Promise<void> {
    lease.prefetching = true;
    await nextTask(BACKGROUND_ASK_DELAY_MS);
    const sentAt = Date.now();
    try {
      const reply = await this.ask(org)({ holder, limit: lease.limit, want: Math.max(1, Math.ceil(lease.rate * TARGET_S)), next: true });
      if (reply.tokens === 0 || reply.startsInMs <= 0) return;
      const next = this.fresh(reply, sentAt, lease);
      // The first moment the next window has certainly begun on the object's clock.
      lease.next = { lease: next, validFrom: Date.now() + reply.startsInMs };
      this.counters.grants += 1;
      this.counters.tokensGranted += reply.tokens;
    } catch (err) {
      this.log.warn("next-window lease not fetched", { org_id: org, error: err });
    } finally {
      lease.prefetching = false;
    }
  }

  /**
   * The unspent tokens of an expired lease, handed back so the object can grant them again. Taken
   * out of the lease before the ask leaves, so that concurrent asks cannot return them twice.
   */
  private giveBack(lease: Lease | undefined, now: number): { returned?: number; returnedFor?: number } {
    if (!lease || now < lease.expiresAt || lease.tokens <= 0) return {};
    const returned = lease.tokens;
    lease.tokens = 0;
    return { returned, returnedFor: lease.windowStart };
  }

  /** Background top-up of a live lease; a failure leaves the lease to run out. */
  private async renew(org: string, holder: string, holderKey: string, lease: Lease): Promise<void> {
    lease.renewing = true;
    await nextTask(BACKGROUND_ASK_DELAY_MS);
    const sentAt = Date.now();
    this.counters.renewals += 1;
    try {
      const want = Math.max(1, Math.ceil(lease.rate * TARGET_S) - lease.tokens);
      const reply = await this.ask(org)({ holder, limit: lease.limit, want });
      this.apply(holderKey, reply, sentAt, lease);
    } catch (err) {
      this.log.warn("lease renewal failed; the lease runs until it expires", { org_id: org, error: err });
    } finally {
      lease.renewing = false;
    }
  }

  /**
   * Takes a reply into the lease: tokens of the same window add up, a new window starts over (the
   * old window's tokens can no longer be spent), and the expiry and the revoked keys are the reply's.
   */
  private apply(holderKey: string, reply: LeaseReply, sentAt: number, previous: Lease | undefined): Lease {
    const current = this.leases.get(holderKey) ?? previous;
    const sameWindow = current !== undefined && current.resetAt === reply.resetAt && current.limit === reply.limit;
    const lease = this.fresh(reply, sentAt, current);
    lease.tokens += sameWindow && sentAt < current.expiresAt ? current.tokens : 0;
    if (sameWindow) lease.next = current.next;
    this.leases.set(holderKey, lease);
    if (reply.bookmark !== undefined) this.bookmark = reply.bookmark;
    this.counters.grants += 1;
    this.counters.tokensGranted += reply.tokens;
    this.report();
    return lease;
  }

  /** A lease from a reply (its tokens alone); the isolate's rate carries over from `from`. */
  private fresh(reply: LeaseReply, sentAt: number, from: Lease | undefined): Lease {
    return {
      limit: reply.limit,
      tokens: reply.tokens,
      granted: reply.granted,
      windowStart: reply.windowStart,
      resetAt: reply.resetAt,
      expiresAt: sentAt + reply.ttlMs,
      grantedAt: sentAt,
      revoked: new Set(reply.revokedKeys),
      renewing: false,
      windowEndsAt: sentAt + reply.windowEndsInMs,
      next: undefined,
      prefetching: false,
      recent: from?.recent ?? 0,
      recentSince: from?.recentSince ?? sentAt,
      rate: from?.rate ?? 0,
    };
  }

  /** Counts an admission towards the isolate's recent rate (per second). */
  private note(lease: Lease, now: number): void {
    if (now - lease.recentSince >= RATE_WINDOW_MS) {
      lease.rate = (lease.recent * 1000) / (now - lease.recentSince);
      lease.recent = 0;
      lease.recentSince = now;
    }
    lease.recent += 1;
    lease.rate = Math.max(lease.rate, lease.recent);
  }

  /** The counters, in the structured log at most once a minute. */
  private report(now = Date.now()): void {
    if (now - this.lastReport < 60_000) return;
    this.lastReport = now;
    this.log.info("rate limit leases", { ...this.counters });
  }
}

export class LimiterUnavailable extends Error {}

const admitted = (lease: Lease, blocking: boolean): HitResult => ({
  allowed: true,
  revoked: false,
  limit: lease.limit,
  // This isolate's view: what the object had left when it last answered, plus the tokens held here.
  remaining: Math.max(0, lease.limit - lease.granted) + lease.tokens,
  resetAt: lease.resetAt,
  blocking,
});

const refusedRevoked = (limit: number, resetAt: number): HitResult => ({ allowed: false, revoked: true, limit, remaining: 0, resetAt });
