import type { Db } from "../db/client";
import { USAGE_METRICS, type UsageMetric } from "../db/schema";
import { sumUsage, utcDay } from "../db/usage";
import { ApiError, quote } from "../lib/errors";

/** The longest span one usage request may cover, and the default (the last 30 days, today included). */
export const MAX_USAGE_DAYS = 366;
const DEFAULT_USAGE_DAYS = 30;
const DAY_MS = 86_400_000;

export interface UsageQuery {
  from?: string | undefined;
  to?: string | undefined;
  groupBy: "day" | "key";
  metrics?: UsageMetric[] | undefined;
  limit: number;
  startingAfter?: string | undefined;
}

/** One bucket: a day (every key) or an API key (every day of the range). */
export interface UsageBucket {
  object: "usage";
  /** The day, or the key's id (`none` for usage made without a key): the list's cursor. */
  id: string;
  day: string | null;
  key_id: string | null;
  usage: Partial<Record<UsageMetric, number>>;
}

const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** `from` and `to` as UTC days, checked: `to` defaults to today, `from` to 29 days before it. */
function range(q: Pick<UsageQuery, "from" | "to">, now: number): { from: string; to: string } {
  const to = q.to ?? utcDay(now);
  const from = q.from ?? utcDay(dayMs(to) - (DEFAULT_USAGE_DAYS - 1) * DAY_MS);
  if (from > to) throw new ApiError("parameter.invalid", `'from' (${from}) is after 'to' (${to}).`, { param: "from" });
  if ((dayMs(to) - dayMs(from)) / DAY_MS + 1 > MAX_USAGE_DAYS) {
    throw new ApiError("parameter.invalid", `At most ${MAX_USAGE_DAYS} days at once: ask for the rest in another request.`, { param: "from" });
  }
  return { from, to };
}

/**
 * The org's metered usage in buckets, in the list shape: days newest first, or keys newest first
 * (usage made without a key last). Buckets with no usage are left out. Every bucket carries every
 * metric asked for (all of them by default), zeros included.
 */
export async function listUsage(db: Db, orgId: string, q: UsageQuery, now = Date.now()) {
  const { from, to } = range(q, now);
  const metrics = q.metrics ?? [...USAGE_METRICS];
  const sums = await sumUsage(db, orgId, { from, to, groupBy: q.groupBy, metrics });
  const buckets = new Map<string, UsageBucket>();
  for (const row of sums) {
    const id = q.groupBy === "day" ? row.bucket : row.bucket === "" ? "none" : row.bucket;
    let bucket = buckets.get(id);
    if (!bucket) {
      bucket = {
        object: "usage",
        id,
        day: q.groupBy === "day" ? row.bucket : null,
        key_id: q.groupBy === "key" && row.bucket !== "" ? row.bucket : null,
        usage: Object.fromEntries(metrics.map((m) => [m, 0])),
      };
      buckets.set(id, bucket);
    }
    bucket.usage[row.metric] = Number(row.quantity);
  }
  // Newest first: days and ULID key ids both sort by time; `none` after every key.
  const ordered = [...buckets.values()].sort((a, b) => (a.id === "none" ? 1 : b.id === "none" ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  let start = 0;
  if (q.startingAfter !== undefined) {
    const at = ordered.findIndex((b) => b.id === q.startingAfter);
    if (at === -1)
      throw new ApiError("parameter.invalid", `No usage bucket ${quote(q.startingAfter)} in this range to start after.`, { param: "starting_after" });
    start = at + 1;
  }
  const page = ordered.slice(start, start + q.limit);
  const hasMore = start + q.limit < ordered.length;
  return { object: "list" as const, data: page, has_more: hasMore, next_cursor: hasMore ? (page[page.length - 1]?.id ?? null) : null };
}
