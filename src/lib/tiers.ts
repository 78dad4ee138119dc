import type { Tier } from "../db/schema";

/** Requests per minute by tier (API.md §1). Enterprise orgs carry their own number. */
export const TIER_LIMITS: Record<Exclude<Tier, "enterprise">, number> = { free: 10, creator: 30, pro: 60 };

/** What an enterprise org gets until its negotiated limit is stored. */
export const ENTERPRISE_DEFAULT_LIMIT = 600;

export const limitFor = (tier: Tier, customLimit: number | null): number =>
  tier === "enterprise" ? (customLimit ?? ENTERPRISE_DEFAULT_LIMIT) : TIER_LIMITS[tier];
