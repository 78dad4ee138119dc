import type { QuotaMetric, Quotas } from "../db/schema";
import type { AuthContext } from "../env";
import { doNames } from "../lib/do-names";
import { ApiError, type ErrorCode } from "../lib/errors";
import { isoSeconds } from "../lib/time";
import type { QuotaAsk, QuotaLimitReached, QuotaReply } from "./quota-ledger";
import type { RateLimiter } from "./rate-limiter";

/**
 * Daily quotas, from the side of the work (a Worker's request, a conversation object's turn): the
 * org's limiter object keeps the count (quota-ledger.ts). Work of a known size (a text to speak) is reserved before it
 * runs, so it is refused with `402 quota_exceeded` rather than done; work whose size is only known
 * at the end (model tokens) is checked before it runs and counted after. An org and key without any
 * quota on the metric (enterprise by default) ask nothing at all.
 */

export interface QuotaDeps {
  limiter: DurableObjectNamespace<RateLimiter>;
  /** Off with the rate limits (the benchmark's with/without comparison only). */
  enabled: boolean;
}

/** Whose quotas apply: the org's and, when the work is made with an API key, that key's own. */
export interface QuotaHolder {
  orgId: string;
  keyId: string | null;
  org: Quotas;
  key: Partial<Quotas> | null;
}

export const quotaHolderOf = (auth: AuthContext): QuotaHolder => ({
  orgId: auth.org.id,
  keyId: auth.key?.keyId ?? auth.issuedBy ?? null,
  org: auth.org.quotas,
  key: auth.key?.quotas ?? null,
});

const CODES: Record<QuotaMetric, ErrorCode> = {
  conversation_seconds: "quota.conversation_seconds",
  tts_characters: "quota.tts_characters",
  llm_tokens: "quota.llm_tokens",
};
const UNITS: Record<QuotaMetric, string> = {
  conversation_seconds: "seconds of conversation",
  tts_characters: "characters of speech",
  llm_tokens: "model tokens",
};

/** The refusal: which quota (the org's or the key's), how much, and when it resets. */
export function quotaError(metric: QuotaMetric, refused: QuotaLimitReached, resetAt: number): ApiError {
  const whose = refused.scope === "org" ? "your organisation's" : "this API key's";
  return new ApiError(
    CODES[metric],
    `Over ${whose} daily quota of ${refused.limit} ${UNITS[metric]} (${refused.used} used today); it resets at ${isoSeconds(resetAt)}.`,
  );
}

const limitsOf = (holder: QuotaHolder, metric: QuotaMetric) => ({ org: holder.org[metric], key: holder.key?.[metric] ?? null });
const capped = (holder: QuotaHolder, metric: QuotaMetric) => {
  const limits = limitsOf(holder, metric);
  return limits.org !== null || (holder.keyId !== null && limits.key !== null);
};

async function ask(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric, amount: number, mode: QuotaAsk["mode"]): Promise<QuotaReply> {
  try {
    return await deps.limiter
      .getByName(doNames.orgLimiter(holder.orgId))
      .spendQuota(holder.orgId, { metric, amount, keyId: holder.keyId, limits: limitsOf(holder, metric), mode });
  } catch {
    // Fail closed, as the rate limits do: nobody can say the quota holds.
    throw new ApiError("rate_limit.unavailable", "The quota counter cannot be reached; try again in a few seconds.");
  }
}

/** A reservation: `refund` gives it back when the work did not happen. */
export interface Reservation {
  refund: () => Promise<void>;
}
const NOTHING_RESERVED: Reservation = { refund: async () => {} };

/** Reserves `amount` of a metric before the work, or throws `402` with the matching code. */
export async function reserveQuota(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric, amount: number): Promise<Reservation> {
  if (!deps.enabled || !capped(holder, metric) || amount <= 0) return NOTHING_RESERVED;
  const reply = await ask(deps, holder, metric, amount, "reserve");
  if (reply.refused) throw quotaError(metric, reply.refused, reply.resetAt);
  return {
    refund: () => deps.limiter.getByName(doNames.orgLimiter(holder.orgId)).refundQuota(metric, reply.granted, holder.keyId, reply.day),
  };
}

/** Before work of unknown size: refused (402) when the quota is already reached. */
export async function checkQuota(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric): Promise<void> {
  if (!deps.enabled || !capped(holder, metric)) return;
  const reply = await ask(deps, holder, metric, 0, "check");
  if (reply.refused) throw quotaError(metric, reply.refused, reply.resetAt);
}

/** As much of `amount` as is left (a conversation's next minute), or none; the reply says what was granted. */
export async function takeQuota(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric, amount: number): Promise<QuotaReply | undefined> {
  if (!deps.enabled || !capped(holder, metric)) return undefined;
  return ask(deps, holder, metric, amount, "partial");
}

/** Gives back what was taken and not used, on the day it was taken. */
export async function refundQuota(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric, amount: number, day: string): Promise<void> {
  if (!deps.enabled || amount <= 0) return;
  await deps.limiter.getByName(doNames.orgLimiter(holder.orgId)).refundQuota(metric, amount, holder.keyId, day);
}

/** After work of unknown size: counted whatever the quota (the work is done). */
export async function reportQuota(deps: QuotaDeps, holder: QuotaHolder, metric: QuotaMetric, amount: number): Promise<QuotaReply | undefined> {
  if (!deps.enabled || !capped(holder, metric) || amount <= 0) return undefined;
  return ask(deps, holder, metric, amount, "report");
}
