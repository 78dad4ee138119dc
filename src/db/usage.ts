import { and, gte, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type UsageMetric, usage } from "./schema";

/** The UTC day (YYYY-MM-DD) an instant falls in: usage is counted per day. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Whole seconds from the first socket to the end (or to now): what a conversation counts. */
export const talkedSeconds = (startedAt: number | null, endedAt: number): number => (startedAt === null ? 0 : Math.ceil((endedAt - startedAt) / 1000));

/** Whose usage it is: the org, and the API key it was made with (null: none, e.g. a signed-in user). */
export interface Meter {
  orgId: string;
  keyId: string | null;
}

/**
 * What a conversation's turns consume, by the `usage` table's metric (its seconds are counted from
 * its start and end instead). Kept on the conversation (its `usage`), and added to the org's usage.
 */
export interface ConversationUsage {
  tts_characters: number;
  llm_input_tokens: number;
  llm_output_tokens: number;
  /** Of the two above, how many were estimated (the provider reported none). */
  llm_tokens_estimated: number;
  /** Seconds of the user's voice received. */
  stt_seconds: number;
}

export const NO_CONVERSATION_USAGE: ConversationUsage = {
  tts_characters: 0,
  llm_input_tokens: 0,
  llm_output_tokens: 0,
  llm_tokens_estimated: 0,
  stt_seconds: 0,
};
const CONVERSATION_METRICS = Object.keys(NO_CONVERSATION_USAGE) as (keyof ConversationUsage)[];

/** Stored usage read back, a metric it predates counted as zero. */
export const conversationUsageOf = (stored: Partial<ConversationUsage> | null | undefined): ConversationUsage => ({
  ...NO_CONVERSATION_USAGE,
  ...stored,
});

/** `a` and `b` added (or, with `sign` -1, `b` taken off `a`, never below zero). */
export const addConversationUsage = (a: ConversationUsage, b: ConversationUsage, sign: 1 | -1 = 1): ConversationUsage =>
  Object.fromEntries(CONVERSATION_METRICS.map((k) => [k, Math.max(0, a[k] + sign * b[k])])) as unknown as ConversationUsage;

/** A conversation's usage on the wire: its turns', and its seconds so far (to now while it runs). */
export const conversationUsageJson = (r: { startedAt: number | null; endedAt: number | null; usage: ConversationUsage }, now = Date.now()) => ({
  conversation_seconds: talkedSeconds(r.startedAt, r.endedAt ?? now),
  ...conversationUsageOf(r.usage),
});
export type ConversationUsageJson = ReturnType<typeof conversationUsageJson>;

export const isNoUsage = (u: ConversationUsage) => CONVERSATION_METRICS.every((k) => u[k] === 0);

/**
 * Adds `quantity` to the meter's count of `metric` for today (UTC), in one statement whatever the
 * concurrency (an upsert that increments). Callers run it off the response path (waitUntil).
 */
export async function recordUsage(db: Db, meter: Meter, metric: UsageMetric, quantity: number, now = Date.now()): Promise<void> {
  if (quantity <= 0) return;
  await usageUpsert(db, meter, metric, quantity, now);
}

/** The statement itself, for callers that batch it with what caused the usage (counted once). */
export const usageUpsert = (db: Db, meter: Meter, metric: UsageMetric, quantity: number, now: number) =>
  db
    .insert(usage)
    .values({ orgId: meter.orgId, day: utcDay(now), metric, keyId: meter.keyId ?? "", quantity })
    .onConflictDoUpdate({
      target: [usage.orgId, usage.day, usage.metric, usage.keyId],
      set: { quantity: sql`${usage.quantity} + excluded.quantity` },
    });

/** The statements that add these counts to the meter's (none for a zero metric). */
export const usageUpserts = (db: Db, meter: Meter, counts: Partial<Record<UsageMetric, number>>, now: number) =>
  Object.entries(counts)
    .filter(([, quantity]) => quantity !== undefined && quantity > 0)
    .map(([metric, quantity]) => usageUpsert(db, meter, metric as UsageMetric, quantity as number, now));

/** One row of the org's usage: a day or an API key ('' for none), a metric, and the sum. */
export interface UsageSum {
  bucket: string;
  metric: UsageMetric;
  quantity: number;
}

/** The org's usage from `from` to `to` (UTC days, inclusive), summed per day or per key. */
export async function sumUsage(
  db: Db,
  orgId: string,
  range: { from: string; to: string; groupBy: "day" | "key"; metrics: readonly UsageMetric[] },
): Promise<UsageSum[]> {
  const bucket = range.groupBy === "day" ? usage.day : usage.keyId;
  return db
    .select({ bucket, metric: usage.metric, quantity: sql<number>`sum(${usage.quantity})` })
    .from(usage)
    .where(and(sql`${usage.orgId} = ${orgId}`, gte(usage.day, range.from), lte(usage.day, range.to), inArray(usage.metric, [...range.metrics])))
    .groupBy(bucket, usage.metric)
    .all();
}
