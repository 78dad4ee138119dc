import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { type UsageMetric, usage } from "./schema";

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Adds `quantity` to the org's count of `metric` for today (UTC), in one statement whatever the
 * concurrency (an upsert that increments). Callers run it off the response path (waitUntil).
 */
export async function recordUsage(db: Db, orgId: string, metric: UsageMetric, quantity: number, now = Date.now()): Promise<void> {
  if (quantity <= 0) return;
  await usageUpsert(db, orgId, metric, quantity, now);
}

/** The statement itself, for callers that batch it with other writes. */
export const usageUpsert = (db: Db, orgId: string, metric: UsageMetric, quantity: number, now: number) =>
  db
    .insert(usage)
    .values({ orgId, day: utcDay(now), metric, quantity })
    .onConflictDoUpdate({ target: [usage.orgId, usage.day, usage.metric], set: { quantity: sql`${usage.quantity} + excluded.quantity` } });
