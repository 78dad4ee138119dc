import { createMiddleware } from "hono/factory";
import type { Db } from "../db/client";
import { type Meter, usageUpsert, utcDay } from "../db/usage";
import { type AppEnv, meterOf } from "../env";
import type { Logger } from "../lib/logger";

/**
 * The `requests` metric: every authenticated request that was admitted (after the rate limit),
 * counted per org, API key and UTC day. A D1 write per request would cost the warm read path a
 * write each time, so the isolate adds the counts up in memory and keeps at most one batch in
 * flight: counts that arrive while it runs go into the next one. Writes then follow D1's own pace
 * (about one per round trip per isolate, whatever the request rate), off every response path: each
 * request's `waitUntil` holds the batch that carries its count. A failed batch is put back and
 * written with the next one.
 */

const pending = new Map<string, { meter: Meter; at: number; count: number }>();
let inFlight: Promise<void> | undefined;
let queued: Promise<void> | undefined;

export const meterRequest = createMiddleware<AppEnv>(async (c, next) => {
  const meter = meterOf(c.get("auth"));
  const now = Date.now();
  const key = `${meter.orgId}\u0000${meter.keyId ?? ""}\u0000${utcDay(now)}`;
  const entry = pending.get(key);
  if (entry) entry.count += 1;
  else pending.set(key, { meter, at: now, count: 1 });
  c.executionCtx.waitUntil(flush(c.get("db"), c.get("log")));
  await next();
});

/** The batch that will carry what is pending now: the one starting, or the one after the batch in flight. */
function flush(db: Db, log: Logger): Promise<void> {
  if (!inFlight) {
    inFlight = write(db, log).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }
  queued ??= inFlight.then(() => {
    queued = undefined;
    return flush(db, log);
  });
  return queued;
}

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
