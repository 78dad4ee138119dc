import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type OrgRow, orgs } from "../db/schema";
import type { AuthOrg } from "../env";
import { concurrencyFor, limitFor, parseQuotas, quotasFor } from "../lib/tiers";
import { TtlCache } from "../lib/ttl-cache";

const toAuthOrg = (row: OrgRow): AuthOrg => ({
  id: row.id,
  tier: row.tier,
  limit: limitFor(row.tier, row.rateLimitPerMinute),
  concurrency: concurrencyFor(row.tier, row.maxConcurrentConversations),
  quotas: quotasFor(row.tier, parseQuotas(row.quotas)),
});

// Org rows change rarely (tier upgrades); caching them saves a D1 round trip per request. A tier
// change therefore applies within this TTL.
const ORG_CACHE_TTL_MS = 60_000;
const orgCache = new TtlCache<string, AuthOrg>(ORG_CACHE_TTL_MS, 10_000);

/** The org by id, cached per isolate; undefined when it does not exist. */
export async function getOrg(db: Db, id: string): Promise<AuthOrg | undefined> {
  let org = orgCache.get(id);
  if (!org) {
    const row = await db.select().from(orgs).where(eq(orgs.id, id)).get();
    if (!row) return undefined;
    org = toAuthOrg(row);
    orgCache.set(id, org);
  }
  return org;
}

/**
 * The org a signed-in user acts for. The first valid JWT naming an unknown org creates it on the
 * free tier (the identity provider is the source of truth for which orgs exist).
 */
export async function findOrCreateOrg(db: Db, id: string, name: string): Promise<AuthOrg> {
  const known = await getOrg(db, id);
  if (known) return known;
  // Two first requests may race: the loser's insert does nothing and both read the same row.
  const [, created] = await db.batch([
    db.insert(orgs).values({ id, name, tier: "free", createdAt: Date.now() }).onConflictDoNothing(),
    db.select().from(orgs).where(eq(orgs.id, id)),
  ]);
  const row = created[0];
  if (!row) throw new Error(`org ${id} vanished right after it was created`);
  const org = toAuthOrg(row);
  orgCache.set(id, org);
  return org;
}
