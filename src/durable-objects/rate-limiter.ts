import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config";
import { createDb } from "../db/client";
import type { QuotaMetric } from "../db/schema";
import { createLogger } from "../lib/logger";
import { type ConversationClaim, type HitResult, type LeaseAsk, type LeaseReply, REVOCATION_MEMORY_MS } from "../lib/rate-limits";
import { isoSeconds } from "../lib/time";
import { dispatchEvents } from "../webhooks/dispatch";
import { buildEvent, insertEvents } from "../webhooks/events";
import { type QuotaAsk, QuotaLedger, type QuotaReply, type QuotaWarning } from "./quota-ledger";

export const WINDOW_MS = 60_000;
/** Start of the minute-aligned window that `now` falls in. */
const windowStart = (now: number) => now - (now % WINDOW_MS);
/** How long before a window ends a holder may be granted the next window's tokens. */
export const NEXT_WINDOW_AHEAD_MS = 5_000;

/**
 * One object per organisation (`org:<id>`) or per client address (`ip:<addr>`): it counts requests in
 * fixed one-minute windows aligned to the minute. A Durable Object runs one call at a time, so the
 * in-memory count is exact: no lost updates, no transactions.
 *
 * The count is persisted once per burst rather than once per request: a hit schedules one write on
 * the next turn, which covers every hit that arrived meanwhile. A SQLite write per hit cost 3× the
 * throughput of the object (see the README's performance notes). The write lands before the object
 * can be evicted (a pending timer keeps it alive), so only a crash between a reply and that write,
 * milliseconds later, could forget those few hits and let as many extra requests through after a
 * restart.
 *
 * It also remembers recently revoked API keys of its org, which is what lets isolates cache key
 * lookups and still refuse a revoked key on the very next request: every authenticated request asks
 * this object anyway.
 */
export class RateLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private window = { start: -1, count: 0 };
  /** The in-memory window has hits not yet written; a flush is scheduled. */
  private dirty = false;
  private readonly revoked = new Set<string>();
  /** D1's bookmark after the org's last revocation. */
  private bookmark: string | undefined;
  /** Lease holders seen in the current window, with when: the fair share divides among the recent ones. */
  private holders = new Map<string, number>();
  private readonly quotas: QuotaLedger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS windows (start INTEGER PRIMARY KEY, count INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS revoked_keys (key_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // The org's conversations that hold a place (joined, not ended), each until it must have ended.
    this.sql.exec("CREATE TABLE IF NOT EXISTS active_conversations (id TEXT PRIMARY KEY, until INTEGER NOT NULL)");
    this.quotas = new QuotaLedger(this.sql);
    this.bookmark = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'bookmark'").toArray()[0]?.value;
    for (const row of this.sql.exec<{ key_id: string }>("SELECT key_id FROM revoked_keys")) this.revoked.add(row.key_id);
  }

  /** Counts one request against `limit` unless the window is full or `keyId` was revoked. */
  hit(limit: number, keyId?: string): HitResult {
    const start = windowStart(Date.now());
    const resetAt = start + WINDOW_MS;
    if (keyId !== undefined && this.revoked.has(keyId)) {
      return { allowed: false, revoked: true, limit, remaining: 0, resetAt };
    }
    if (this.window.start !== start) this.enterWindow(start);
    if (this.window.count >= limit) {
      return { allowed: false, revoked: false, limit, remaining: 0, resetAt };
    }
    this.window.count += 1;
    if (!this.dirty) {
      this.dirty = true;
      setTimeout(() => this.flush(), 0);
    }
    return { allowed: true, revoked: false, limit, remaining: limit - this.window.count, resetAt };
  }

  /**
   * A lease of the current window's allowance for one isolate (see lib/leases.ts). The grant is
   * at most what is left and at most a fair share of it among the holders seen in the last lease
   * lifetime; it is written before the reply leaves (the output gate holds the reply until the write
   * is durable), so a restarted or duplicated object can never grant the same tokens twice. The
   * lease ends `ttlMs` after the holder sent its ask: before this window ends on this object's clock,
   * so every token is spent inside the window it was granted for.
   */
  acquire(ask: LeaseAsk): LeaseReply {
    const now = Date.now();
    const start = windowStart(now);
    const resetAt = start + WINDOW_MS;
    const leaseMs = getConfig(this.env).limiter.leaseMs;
    const base = {
      limit: ask.limit,
      windowStart: start,
      resetAt,
      ttlMs: Math.min(leaseMs, resetAt - now),
      startsInMs: 0,
      windowEndsInMs: resetAt - now,
      revokedKeys: [...this.revoked],
      bookmark: this.bookmark,
    };
    if (ask.keyId !== undefined && this.revoked.has(ask.keyId)) return { ...base, revoked: true, tokens: 0, granted: this.window.count };
    if (this.window.start !== start) {
      this.enterWindow(start);
      this.holders = new Map();
    }
    if (ask.returned !== undefined && ask.returned > 0 && ask.returnedFor === start) {
      this.window.count = Math.max(0, this.window.count - ask.returned);
      this.dirty = true;
    }
    this.holders.set(ask.holder, now);
    let active = 0;
    for (const [holder, seen] of this.holders) {
      if (now - seen <= leaseMs) active += 1;
      else this.holders.delete(holder);
    }
    const grant = (count: number) => {
      const left = Math.max(0, ask.limit - count);
      return Math.min(left, Math.ceil(left / Math.max(1, active)), Math.max(1, ask.want));
    };
    if (ask.next === true) {
      // The next window's tokens, for a holder whose lease ends with this window: usable from the
      // moment the next window begins, so the first requests after the boundary need not wait.
      const next = resetAt;
      const count = this.sql.exec<{ count: number }>("SELECT count FROM windows WHERE start = ?", next).toArray()[0]?.count ?? 0;
      // Only shortly before the boundary: earlier, the tokens would sit unused for most of a window.
      const tokens = resetAt - now <= NEXT_WINDOW_AHEAD_MS ? grant(count) : 0;
      if (tokens > 0) this.saveWindow(next, count + tokens);
      this.flush();
      return {
        ...base,
        windowStart: next,
        resetAt: next + WINDOW_MS,
        startsInMs: next - now,
        ttlMs: Math.min(leaseMs, next + WINDOW_MS - now),
        revoked: false,
        tokens,
        granted: count + tokens,
      };
    }
    const tokens = grant(this.window.count);
    if (tokens > 0) {
      this.window.count += tokens;
      this.dirty = true;
    }
    this.flush();
    return { ...base, revoked: false, tokens, granted: this.window.count };
  }

  /**
   * A conversation's first socket asks for a place among the org's at most `cap` active
   * conversations. One object per org answers every ask in turn, so the cap is exact under any
   * concurrency. The place is held until the conversation releases it when it ends, or at the
   * latest `until` (its maximum duration): a release that never arrives cannot hold it for ever.
   * Asking again for a conversation that holds a place is granted (a retried join).
   */
  claimConversation(id: string, cap: number, until: number): ConversationClaim {
    const active = this.activeConversations();
    if (this.sql.exec("SELECT 1 FROM active_conversations WHERE id = ?", id).toArray().length > 0) return { ok: true, active };
    if (active >= cap) return { ok: false, active };
    this.sql.exec("INSERT INTO active_conversations (id, until) VALUES (?, ?)", id, until);
    void this.scheduleCleanup(until);
    return { ok: true, active: active + 1 };
  }

  /** The conversation ended: its place is free (idempotent). */
  releaseConversation(id: string): void {
    this.sql.exec("DELETE FROM active_conversations WHERE id = ?", id);
  }

  /** How many conversations of the org hold a place now. */
  activeConversations(): number {
    this.sql.exec("DELETE FROM active_conversations WHERE until <= ?", Date.now());
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM active_conversations").one().n;
  }

  /** Counts work against the org's (and the key's) daily quota of a metric: see quota-ledger.ts. */
  spendQuota(orgId: string, ask: QuotaAsk): QuotaReply {
    const { reply, warnings } = this.quotas.spend(ask);
    if (warnings.length > 0) this.ctx.waitUntil(this.sendWarnings(orgId, warnings));
    return reply;
  }

  /** Gives back what a reservation did not use. */
  refundQuota(metric: QuotaMetric, amount: number, keyId: string | null, day: string): void {
    this.quotas.refund(metric, amount, keyId, day);
  }

  /** What the org (or a key of it) has counted today of a metric. */
  quotaUsed(metric: QuotaMetric, keyId: string | null): number {
    return this.quotas.usedToday(metric, keyId);
  }

  /**
   * `quota.warning` events (80 % and 100 %, once per day, scope and metric, as the ledger decided).
   * Stored and queued like every event; a failure is logged, and the warning is not sent again.
   */
  private async sendWarnings(orgId: string, warnings: QuotaWarning[]): Promise<void> {
    const db = createDb(this.env.DB);
    const log = createLogger({ component: "quotas", org_id: orgId });
    const events = warnings.map((w) =>
      buildEvent(orgId, "quota.warning", {
        metric: w.metric,
        scope: w.scope,
        key_id: w.keyId,
        percent: w.percent,
        used: w.used,
        limit: w.limit,
        day: w.day,
        resets_at: isoSeconds(w.resetAt),
      }),
    );
    try {
      await db.batch([insertEvents(db, events)]);
      await dispatchEvents({ db, queue: this.env.WEBHOOKS, log }, events);
    } catch (err) {
      log.warn("quota warning not recorded", { error: err });
    }
  }

  /** Makes every later `hit` naming this key answer `revoked`, whatever the isolates have cached. */
  async revokeKey(keyId: string, bookmark?: string): Promise<void> {
    this.revoked.add(keyId);
    if (bookmark !== undefined) {
      this.bookmark = bookmark;
      this.sql.exec("INSERT INTO meta (key, value) VALUES ('bookmark', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", bookmark);
    }
    this.sql.exec("INSERT OR IGNORE INTO revoked_keys (key_id, revoked_at) VALUES (?, ?)", keyId, Date.now());
    await this.scheduleCleanup(Date.now() + REVOCATION_MEMORY_MS);
  }

  /** Drops finished windows and revocations no cache can still hold; re-arms while anything is left. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const current = windowStart(now);
    this.sql.exec("DELETE FROM windows WHERE start < ?", current);
    for (const row of this.sql.exec<{ key_id: string }>("DELETE FROM revoked_keys WHERE revoked_at <= ? RETURNING key_id", now - REVOCATION_MEMORY_MS)) {
      this.revoked.delete(row.key_id);
    }
    this.sql.exec("DELETE FROM active_conversations WHERE until <= ?", now);
    const left = this.sql
      .exec<{ windows: number; revoked: number | null; until: number | null }>(
        "SELECT (SELECT count(*) FROM windows) AS windows, (SELECT min(revoked_at) FROM revoked_keys) AS revoked, (SELECT min(until) FROM active_conversations) AS until",
      )
      .one();
    const next = [left.windows > 0 ? current + WINDOW_MS : null, left.revoked === null ? null : left.revoked + REVOCATION_MEMORY_MS, left.until].filter(
      (at): at is number => at !== null,
    );
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /** Rows of the windows table, oldest first (for tests and diagnostics). */
  windows(): { start: number; count: number }[] {
    this.flush();
    return this.sql.exec<{ start: number; count: number }>("SELECT start, count FROM windows ORDER BY start").toArray();
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.saveWindow(this.window.start, this.window.count);
  }

  private saveWindow(start: number, count: number): void {
    this.sql.exec("INSERT INTO windows (start, count) VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET count = excluded.count", start, count);
  }

  private enterWindow(start: number): void {
    this.flush();
    const row = this.sql.exec<{ count: number }>("SELECT count FROM windows WHERE start = ?", start).toArray()[0];
    this.window = { start, count: row?.count ?? 0 };
    // Armed once per new window, not per request, to clear this window once it has ended. Storage
    // writes need no await in a Durable Object (the output gate holds the reply until they land); an
    // alarm it replaces is recomputed by alarm() from what is left.
    if (!row) void this.ctx.storage.setAlarm(start + WINDOW_MS);
  }

  private async scheduleCleanup(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
