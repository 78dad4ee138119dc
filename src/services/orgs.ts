import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { orgs } from "../db/schema";
import type { AuthOrg } from "../env";
import { limitFor } from "../lib/tiers";

/**
 * The org a signed-in user acts for. The first valid JWT naming an unknown org creates it on the
 * free tier (the identity provider is the source of truth for which orgs exist).
 */
export async function findOrCreateOrg(db: Db, id: string, name: string): Promise<AuthOrg> {
  let row = await db.select().from(orgs).where(eq(orgs.id, id)).get();
  if (!row) {
    // Two first requests may race: the loser's insert does nothing and both read the same row.
    const [, created] = await db.batch([
      db.insert(orgs).values({ id, name, tier: "free", createdAt: Date.now() }).onConflictDoNothing(),
      db.select().from(orgs).where(eq(orgs.id, id)),
    ]);
    row = created[0];
    if (!row) throw new Error(`org ${id} vanished right after it was created`);
  }
  return { id: row.id, tier: row.tier, limit: limitFor(row.tier, row.rateLimitPerMinute) };
}
