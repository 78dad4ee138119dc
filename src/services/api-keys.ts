import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, orgs } from "../db/schema";
import type { AuthOrg } from "../env";
import { limitFor } from "../lib/tiers";

export interface KeyLookup {
  keyId: string;
  revokedAt: number | null;
  org: AuthOrg;
}

/** One query: the key by the hash of its secret, with the org it acts for. */
export async function findKeyByHash(db: Db, keyHash: string): Promise<KeyLookup | null> {
  const row = await db
    .select({
      keyId: apiKeys.id,
      revokedAt: apiKeys.revokedAt,
      orgId: orgs.id,
      tier: orgs.tier,
      customLimit: orgs.rateLimitPerMinute,
    })
    .from(apiKeys)
    .innerJoin(orgs, eq(orgs.id, apiKeys.orgId))
    .where(eq(apiKeys.keyHash, keyHash))
    .get();
  if (!row) return null;
  return {
    keyId: row.keyId,
    revokedAt: row.revokedAt,
    org: { id: row.orgId, tier: row.tier, limit: limitFor(row.tier, row.customLimit) },
  };
}
