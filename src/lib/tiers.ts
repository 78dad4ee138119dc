import type { Tier } from "../db/schema";

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
