import type { ConversationRecord } from "../../db/conversations";
import type { QuotaMetric } from "../../db/schema";
import { talkedSeconds, utcDay } from "../../db/usage";
import type { ApiError } from "../../lib/errors";
import { type QuotaDeps, type QuotaHolder, quotaError, refundQuota, reportQuota, takeQuota } from "../quota-client";
import type { QuotaLimitReached } from "../quota-ledger";
import type { ConversationSetup } from "./contract";
import type { SecondsQuota } from "./limits";
import type { TurnUsage } from "./pipeline";

/**
 * A conversation's share of the daily quotas of its org and of the API key that created it:
 *
 * - **seconds**, exactly: taken a minute ahead from the org's ledger when the first socket joins
 *   and renewed by the alarm shortly before they run out; when no more are granted the
 *   conversation gets `session.expiring` and ends with `quota_exceeded` when the last granted
 *   second is spent. What was taken and not talked is given back at the end. So conversations
 *   running at once can never talk, together, past the quota.
 * - **speech characters and model tokens**: a turn's size is only known once it has run, so each
 *   turn is counted after it ends, and the next turn is refused (`quota.tts_characters`,
 *   `quota.llm_tokens`) once a quota is reached. The count can end over a quota by the turn that
 *   reached it.
 */

/** Seconds taken at a time. */
export const SECONDS_CHUNK = 60;

/** A turn refused for a quota reached, until the UTC day changes. */
export interface QuotaBlocked extends QuotaLimitReached {
  day: string;
  resetAt: number;
}

export interface QuotaStore {
  record(): ConversationRecord | undefined;
  setup(): ConversationSetup | undefined;
  quotaBlocked(): Partial<Record<QuotaMetric, QuotaBlocked>>;
  saveQuotaBlocked(blocked: Partial<Record<QuotaMetric, QuotaBlocked>>): void;
}

export class ConversationQuota {
  constructor(
    private readonly deps: () => QuotaDeps,
    private readonly store: QuotaStore,
  ) {}

  private holder(): QuotaHolder | undefined {
    const record = this.store.record();
    const quotas = this.store.setup()?.quotas;
    if (!record || !quotas) return undefined;
    return { orgId: record.orgId, keyId: record.keyId ?? null, org: quotas.org, key: quotas.key };
  }

  /**
   * The first socket joins: the first minute of seconds, or the refusal when none is left today.
   * Returns the state to keep (null: no quota of seconds applies).
   */
  async start(now: number): Promise<{ state: SecondsQuota | null } | { refused: ApiError }> {
    const holder = this.holder();
    if (!holder) return { state: null };
    const reply = await takeQuota(this.deps(), holder, "conversation_seconds", SECONDS_CHUNK);
    if (!reply) return { state: null };
    if (reply.refused) return { refused: quotaError("conversation_seconds", reply.refused, reply.resetAt) };
    return {
      state: {
        until: now + reply.granted * 1000,
        exhausted: reply.granted < SECONDS_CHUNK,
        warned: false,
        day: reply.day,
        lastGranted: reply.granted,
        taken: reply.granted,
      },
    };
  }

  /** The next minute, before the granted seconds run out; exhausted once none is granted. */
  async renew(state: SecondsQuota): Promise<SecondsQuota> {
    const holder = this.holder();
    if (!holder) return state;
    const reply = await takeQuota(this.deps(), holder, "conversation_seconds", SECONDS_CHUNK);
    if (!reply || reply.granted === 0) return { ...state, exhausted: true };
    return {
      ...state,
      until: state.until + reply.granted * 1000,
      exhausted: reply.granted < SECONDS_CHUNK,
      day: reply.day,
      lastGranted: reply.granted,
      taken: state.taken + reply.granted,
    };
  }

  /** The conversation ended: the seconds taken and not talked go back (from the last grant). */
  async refund(state: SecondsQuota, record: ConversationRecord): Promise<void> {
    const holder = this.holder();
    if (!holder || record.endedAt === null) return;
    const unused = state.taken - talkedSeconds(record.startedAt, record.endedAt);
    await refundQuota(this.deps(), holder, "conversation_seconds", Math.min(unused, state.lastGranted), state.day);
  }

  /** Seconds taken that the conversation will not use at all (a second first socket took its own). */
  async giveBack(state: SecondsQuota): Promise<void> {
    const holder = this.holder();
    if (holder) await refundQuota(this.deps(), holder, "conversation_seconds", state.taken, state.day);
  }

  /** A turn ended: its speech and tokens are counted, and a quota it reached refuses the next turn. */
  async afterTurn(usage: TurnUsage): Promise<void> {
    const holder = this.holder();
    if (!holder) return;
    const counted: [QuotaMetric, number][] = [
      ["tts_characters", usage.ttsCharacters],
      ["llm_tokens", usage.llmInputTokens + usage.llmOutputTokens],
    ];
    for (const [metric, amount] of counted) {
      const reply = await reportQuota(this.deps(), holder, metric, amount);
      if (reply?.reached) this.store.saveQuotaBlocked({ ...this.store.quotaBlocked(), [metric]: { ...reply.reached, day: reply.day, resetAt: reply.resetAt } });
    }
  }

  /** Why a new turn is refused today, if a quota it needs was reached. */
  blocked(now = Date.now()): ApiError | undefined {
    const today = utcDay(now);
    for (const [metric, blocked] of Object.entries(this.store.quotaBlocked()) as [QuotaMetric, QuotaBlocked][]) {
      if (blocked.day === today) return quotaError(metric, blocked, blocked.resetAt);
    }
    return undefined;
  }
}
