import type { QuotaMetric, Quotas, Tier } from "../db/schema";

/** Requests per minute by tier (API.md §1). Enterprise orgs carry their own number. */
export const TIER_LIMITS: Record<Exclude<Tier, "enterprise">, number> = { free: 10, creator: 30, pro: 60 };

/** What an enterprise org gets until its negotiated limit is stored. */
export const ENTERPRISE_DEFAULT_LIMIT = 600;

export const limitFor = (tier: Tier, customLimit: number | null): number =>
  tier === "enterprise" ? (customLimit ?? ENTERPRISE_DEFAULT_LIMIT) : TIER_LIMITS[tier];

/**
 * Conversations an org may hold at once (joined and not ended) by tier. Enterprise orgs, and any
 * org given its own number, carry `max_concurrent_conversations`.
 */
export const TIER_CONCURRENCY: Record<Exclude<Tier, "enterprise">, number> = { free: 2, creator: 5, pro: 20 };

/** What an enterprise org gets until its negotiated number is stored. */
export const ENTERPRISE_DEFAULT_CONCURRENCY = 100;

export const concurrencyFor = (tier: Tier, custom: number | null): number =>
  custom ?? (tier === "enterprise" ? ENTERPRISE_DEFAULT_CONCURRENCY : TIER_CONCURRENCY[tier]);

/** Custom avatars (characters and looks) an org may keep, by tier. */
export const TIER_AVATARS: Record<Tier, number> = { free: 5, creator: 25, pro: 100, enterprise: 1_000 };

export const avatarsFor = (tier: Tier): number => TIER_AVATARS[tier];

/**
 * Daily quotas by tier (UTC days). Enterprise orgs have none unless agreed; any org can be given
 * its own (`orgs.quotas`, metric by metric).
 */
export const TIER_QUOTAS: Record<Tier, Quotas> = {
  free: { conversation_seconds: 1_800, tts_characters: 50_000, llm_tokens: 500_000 },
  creator: { conversation_seconds: 14_400, tts_characters: 500_000, llm_tokens: 5_000_000 },
  pro: { conversation_seconds: 86_400, tts_characters: 2_000_000, llm_tokens: 20_000_000 },
  enterprise: { conversation_seconds: null, tts_characters: null, llm_tokens: null },
};

/** The org's quotas: its own where it has them, else its tier's. */
export const quotasFor = (tier: Tier, custom: Partial<Quotas> | null): Quotas => ({ ...TIER_QUOTAS[tier], ...custom });

/** Stored quotas (JSON) read back; anything that is not a known metric with a number or null is ignored. */
export function parseQuotas(json: string | null): Partial<Quotas> | null {
  if (json === null) return null;
  const value = JSON.parse(json) as Record<string, unknown>;
  const out: Partial<Quotas> = {};
  for (const metric of ["conversation_seconds", "tts_characters", "llm_tokens"] satisfies QuotaMetric[]) {
    const n = value[metric];
    if (n === null || (typeof n === "number" && Number.isInteger(n) && n >= 0)) out[metric] = n;
  }
  return out;
}
