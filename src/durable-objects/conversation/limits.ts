import type { ConversationRecord } from "../../db/conversations";

/**
 * When a conversation's next timed thing happens. A conversation object has one alarm, so this
 * picks the earliest of: the warning and the end of `max_duration_s` (counted from creation), the
 * warning and the end of `idle_timeout_s` (counted from the last activity), the renewal of quota
 * seconds or, once none are left, the warning and the end they bring, and housekeeping (an
 * index write to retry, old events to drop). The chosen action is stored with the alarm and the
 * alarm does exactly that action: an alarm only fires when it is due, and storing the action keeps
 * the two in step when activity moves the idle deadline.
 */

/** The clocks of the limits, kept in the object's storage. */
export interface LimitState {
  /** The last user input or end of a turn (the idle clock restarts there). */
  lastActivityAt: number;
  /** `session.expiring` already sent for the maximum duration. */
  warnedMax: boolean;
  /** The `lastActivityAt` an idle warning was sent for (a new activity re-arms the warning). */
  warnedIdleFor: number | null;
  /** The index (D1) still lacks this object's latest start or end: retried by the alarm. */
  indexBehind: boolean;
  /** Seconds taken from the daily quota of conversation seconds, when one applies (quota.ts). */
  secondsQuota?: SecondsQuota | null;
}

/**
 * A conversation under a quota of seconds holds them a minute at a time, taken from the org's
 * ledger ahead of use: it may talk until `until`, renews shortly before, and once nothing more was
 * granted (`exhausted`) it is warned and ends at `until` with `quota_exceeded`.
 */
export interface SecondsQuota {
  until: number;
  exhausted: boolean;
  warned: boolean;
  /** The UTC day and size of the last grant: what a refund at the end may give back. */
  day: string;
  lastGranted: number;
  /** Every second taken so far. */
  taken: number;
}

/** Seconds are renewed this long before the granted ones run out (the warning comes 30 s before). */
export const QUOTA_RENEW_LEAD_MS = 35_000;
/** A renewal the ledger did not answer is asked again this much later. */
export const QUOTA_RETRY_MS = 5_000;

/** Events are kept at least this long for resuming sockets. */
export const EVENT_RETENTION_MS = 5 * 60_000;
/** A failed index (D1) write is retried this much later. */
export const INDEX_RETRY_MS = 30_000;

export type LimitReason = "max_duration" | "idle_timeout" | "quota_exceeded";

export type PlannedAction =
  | { kind: "expiring"; reason: LimitReason; at: number; endsAt: number }
  | { kind: "end"; reason: LimitReason; at: number }
  | { kind: "renew_quota"; at: number }
  | { kind: "housekeeping"; at: number };

/** `session.expiring` comes 30 s before a limit, or at half time for limits under a minute. */
export const warningLeadMs = (limitS: number) => (limitS < 60 ? limitS * 500 : 30_000);

/**
 * `prunableSince` is the time of the oldest event pruning could still drop (null: none). An ended
 * conversation plans nothing more once that is null and its index is up to date: it must cost
 * nothing, and every alarm is billed.
 */
export function planNext(record: ConversationRecord, limits: LimitState, now: number, prunableSince: number | null): PlannedAction | null {
  const candidates: PlannedAction[] = [];
  if (record.status === "active") {
    const maxEnd = record.createdAt + record.maxDurationS * 1000;
    const idleEnd = limits.lastActivityAt + record.idleTimeoutS * 1000;
    candidates.push({ kind: "end", reason: "max_duration", at: maxEnd }, { kind: "end", reason: "idle_timeout", at: idleEnd });
    if (!limits.warnedMax) {
      candidates.push({ kind: "expiring", reason: "max_duration", at: maxEnd - warningLeadMs(record.maxDurationS), endsAt: maxEnd });
    }
    // An idle end after the maximum duration's never comes: nothing to warn of.
    if (limits.warnedIdleFor !== limits.lastActivityAt && idleEnd < maxEnd) {
      candidates.push({ kind: "expiring", reason: "idle_timeout", at: idleEnd - warningLeadMs(record.idleTimeoutS), endsAt: idleEnd });
    }
    const quota = limits.secondsQuota;
    if (quota && quota.until < maxEnd) {
      if (!quota.exhausted) candidates.push({ kind: "renew_quota", at: quota.until - QUOTA_RENEW_LEAD_MS });
      else {
        candidates.push({ kind: "end", reason: "quota_exceeded", at: quota.until });
        if (!quota.warned) candidates.push({ kind: "expiring", reason: "quota_exceeded", at: quota.until - 30_000, endsAt: quota.until });
      }
    }
  } else if (prunableSince !== null) {
    candidates.push({ kind: "housekeeping", at: Math.max(now, prunableSince + EVENT_RETENTION_MS) });
  }
  if (limits.indexBehind) candidates.push({ kind: "housekeeping", at: now + INDEX_RETRY_MS });
  // Earliest first; at the same instant an end wins over a warning (there is nothing left to warn of).
  const rank = { end: 0, expiring: 1, renew_quota: 2, housekeeping: 3 } as const;
  candidates.sort((a, b) => a.at - b.at || rank[a.kind] - rank[b.kind]);
  return candidates[0] ?? null;
}
