import type { QuotaMetric } from "../db/schema";
import { utcDay } from "../db/usage";

/**
 * An org's daily quotas, counted where its rate limits are: in its limiter object, which answers
 * one call at a time, so a reservation is exact whatever the number of isolates asking at once.
 * One row per UTC day, scope (`org`, or an API key's id) and metric; days before today are dropped.
 *
 * - `reserve`: work whose size is known before it runs (a text to speak): granted whole or refused,
 *   so the count never goes over a quota;
 * - `partial`: as much of `amount` as is left (a conversation's next minute of seconds);
 * - `check`: nothing counted, refused when nothing is left (before work of unknown size);
 * - `report`: work already done whose size was only known at the end (model tokens, a conversation
 *   turn's speech): always counted, so the count may end over a quota by what was in flight, and
 *   what follows is refused;
 * - `refund`: a reservation that was not used (a synthesis that failed, seconds a conversation did
 *   not talk).
 *
 * Crossing 80 % and then 100 % of a quota is reported once per day, scope and metric (`warnings`),
 * for the `quota.warning` webhook.
 */

export type QuotaScope = "org" | "key";

export interface QuotaAsk {
  metric: QuotaMetric;
  amount: number;
  /** The API key the work is made with; its own quota applies too. */
  keyId: string | null;
  limits: { org: number | null; key: number | null };
  mode: "reserve" | "partial" | "check" | "report";
}

export interface QuotaReply {
  /** What was counted (all of `amount`, part of it for `partial`, none when refused). */
  granted: number;
  /** Set when the quota refused the ask (`reserve`), or when nothing at all was left (`partial`, `check`). */
  refused: QuotaLimitReached | null;
  /** After this ask, a quota of the metric is reached (the first one found): what needs more will be refused. */
  reached: QuotaLimitReached | null;
  /** The UTC day counted, and when it ends (epoch ms). */
  day: string;
  resetAt: number;
}

export interface QuotaLimitReached {
  scope: QuotaScope;
  limit: number;
  used: number;
}

export interface QuotaWarning {
  metric: QuotaMetric;
  scope: QuotaScope;
  keyId: string | null;
  limit: number;
  used: number;
  percent: 80 | 100;
  day: string;
  resetAt: number;
}

const DAY_MS = 86_400_000;
const nextMidnight = (now: number) => now - (now % DAY_MS) + DAY_MS;

export class QuotaLedger {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS quota_used (day TEXT NOT NULL, scope TEXT NOT NULL, metric TEXT NOT NULL, used INTEGER NOT NULL, warned INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, scope, metric))",
    );
  }

  spend(ask: QuotaAsk, now = Date.now()): { reply: QuotaReply; warnings: QuotaWarning[] } {
    const day = utcDay(now);
    const resetAt = nextMidnight(now);
    this.sql.exec("DELETE FROM quota_used WHERE day < ?", day);
    const scopes = this.scopesOf(ask);
    const amount = Math.max(0, Math.floor(ask.amount));
    let granted = amount;
    let refused: QuotaLimitReached | null = null;
    for (const s of scopes) {
      if (s.limit === null) continue;
      const used = this.used(day, s.row, ask.metric);
      const left = Math.max(0, s.limit - used);
      if (ask.mode === "report") continue;
      if (ask.mode === "reserve" ? amount > left : left === 0) {
        refused = { scope: s.scope, limit: s.limit, used };
        granted = 0;
        break;
      }
      granted = Math.min(granted, left);
    }
    if (ask.mode === "check") granted = 0;
    const warnings: QuotaWarning[] = [];
    let reached: QuotaLimitReached | null = null;
    for (const s of scopes) {
      if (granted > 0) this.add(day, s.row, ask.metric, granted);
      if (s.limit === null) continue;
      const used = this.used(day, s.row, ask.metric);
      if (used >= s.limit) reached ??= { scope: s.scope, limit: s.limit, used };
      const warning = this.warn(day, s.row, ask.metric, used, s.limit);
      if (warning)
        warnings.push({
          metric: ask.metric,
          scope: s.scope,
          keyId: s.scope === "key" ? ask.keyId : null,
          limit: s.limit,
          used,
          percent: warning,
          day,
          resetAt,
        });
    }
    return { reply: { granted, refused, reached: reached ?? refused, day, resetAt }, warnings };
  }

  /** Gives back what a reservation on `day` did not use. */
  refund(metric: QuotaMetric, amount: number, keyId: string | null, day: string): void {
    if (amount <= 0) return;
    for (const row of keyId === null ? ["org"] : ["org", `key:${keyId}`]) {
      this.sql.exec("UPDATE quota_used SET used = max(0, used - ?) WHERE day = ? AND scope = ? AND metric = ?", Math.floor(amount), day, row, metric);
    }
  }

  /** What is counted today, for tests and diagnostics. */
  usedToday(metric: QuotaMetric, keyId: string | null, now = Date.now()): number {
    return this.used(utcDay(now), keyId === null ? "org" : `key:${keyId}`, metric);
  }

  private scopesOf(ask: QuotaAsk) {
    const org = { scope: "org" as const, row: "org", limit: ask.limits.org };
    return ask.keyId === null ? [org] : [org, { scope: "key" as const, row: `key:${ask.keyId}`, limit: ask.limits.key }];
  }

  private used(day: string, scope: string, metric: QuotaMetric): number {
    return (
      this.sql.exec<{ used: number }>("SELECT used FROM quota_used WHERE day = ? AND scope = ? AND metric = ?", day, scope, metric).toArray()[0]?.used ?? 0
    );
  }

  private add(day: string, scope: string, metric: QuotaMetric, amount: number): void {
    this.sql.exec(
      "INSERT INTO quota_used (day, scope, metric, used) VALUES (?, ?, ?, ?) ON CONFLICT (day, scope, metric) DO UPDATE SET used = used + excluded.used",
      day,
      scope,
      metric,
      amount,
    );
  }

  /** The level newly crossed (80 or 100), once per day, scope and metric; undefined when none. */
  private warn(day: string, scope: string, metric: QuotaMetric, used: number, limit: number): 80 | 100 | undefined {
    const level = used >= limit ? 100 : used * 5 >= limit * 4 ? 80 : 0;
    if (level === 0) return undefined;
    const warned =
      this.sql.exec<{ warned: number }>("SELECT warned FROM quota_used WHERE day = ? AND scope = ? AND metric = ?", day, scope, metric).toArray()[0]?.warned ??
      0;
    if (warned >= level) return undefined;
    this.sql.exec(
      "INSERT INTO quota_used (day, scope, metric, used, warned) VALUES (?, ?, ?, 0, ?) ON CONFLICT (day, scope, metric) DO UPDATE SET warned = excluded.warned",
      day,
      scope,
      metric,
      level,
    );
    return level as 80 | 100;
  }
}
