import { createMiddleware } from "hono/factory";
import type { Db } from "../db/client";
import { type Meter, usageUpsert, utcDay } from "../db/usage";
import { type AppEnv, meterOf } from "../env";
import type { Logger } from "../lib/logger";

/**
 * The `requests` metric: every authenticated request that was admitted (after the rate limit),
 * counted per org, API key and UTC day. A D1 write per request would cost the warm read path a
 * write each time, and a write every 50 ms still cost it a measurable share of its throughput (D1
 * writes one statement at a time), so the isolate adds the counts up in memory and writes what
 * arrived within `USAGE_REQUESTS_BATCH_MS` (a second) in one batch: one write per isolate per
 * window, whatever the request rate, off every response path (the `waitUntil` of the request that
 * opened the window holds its batch). A failed batch is put back and written with the next one.
 */

const pending = new Map<string, { meter: Meter; at: number; count: number }>();
let scheduled = false;

export const meterRequest = createMiddleware<AppEnv>(async (c, next) => {
  const meter = meterOf(c.get("auth"));
  const now = Date.now();
  const key = `${meter.orgId}\u0000${meter.keyId ?? ""}\u0000${utcDay(now)}`;
  const entry = pending.get(key);
  if (entry) entry.count += 1;
  else pending.set(key, { meter, at: now, count: 1 });
  if (!scheduled) {
    // The request that starts a window holds its batch (its own context writes it): a promise of one
    // request's context is never handed to another's.
    scheduled = true;
    const db = c.get("db");
    const log = c.get("log");
    c.executionCtx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, c.get("config").usageRequestsBatchMs)).then(() => {
        scheduled = false;
        return write(db, log);
      }),
    );
  }
  await next();
});

async function write(db: Db, log: Logger): Promise<void> {
  const batch = [...pending.entries()];
  pending.clear();
  const [first, ...rest] = batch.map(([, e]) => usageUpsert(db, e.meter, "requests", e.count, e.at));
  if (!first) return;
  try {
    await db.batch([first, ...rest]);
  } catch (err) {
    log.warn("request counts not recorded; kept for the next batch", { error: err });
    for (const [key, e] of batch) {
      const now = pending.get(key);
      if (now) now.count += e.count;
      else pending.set(key, e);
    }
  }
}
