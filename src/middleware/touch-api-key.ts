import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { TOUCH_INTERVAL_MS, touchKey } from "../services/api-keys";

/**
 * Records `last_used_at` at most once a minute per key, after the request was admitted and off its
 * critical path (`waitUntil`). The isolate remembers its own last write; the SQL condition keeps the
 * whole fleet to one write a minute.
 */
export const touchApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.get("auth").key;
  const now = Date.now();
  if (key && (key.lastUsedAt === null || now - key.lastUsedAt >= TOUCH_INTERVAL_MS)) {
    key.lastUsedAt = now;
    c.executionCtx.waitUntil(
      touchKey(c.get("db"), key.keyId, now).catch((err: unknown) => c.get("log").warn("last_used_at update failed", { key_id: key.keyId, error: err })),
    );
  }
  await next();
});
