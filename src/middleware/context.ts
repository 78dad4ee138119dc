import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { getConfig } from "../config";
import { createDb, createReadDb, type Db } from "../db/client";
import type { AppEnv } from "../env";
import { createLogger } from "../lib/logger";
import type { Limiter } from "../lib/rate-limits";
import { durableObjectLimiter, noLimiter } from "../services/limiter";

// One limiter per namespace binding (stable within an isolate), not one per request.
const limiters = new WeakMap<object, Limiter>();
const limiterFor = (namespace: AppEnv["Bindings"]["RATE_LIMITER"]) => {
  let limiter = limiters.get(namespace);
  if (!limiter) limiters.set(namespace, (limiter = durableObjectLimiter(namespace, createLogger({ component: "rate-limit" }))));
  return limiter;
};

/**
 * The request's view of the deployment: settings (an invalid one is `503 config.invalid` here),
 * the drizzle handle (one per D1 binding, see db/client.ts) and the rate limiter.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  c.set("config", config);
  c.set("db", createDb(c.env.DB));
  c.set("limiter", config.rateLimiting ? limiterFor(c.env.RATE_LIMITER) : noLimiter);
  await next();
});

/**
 * The request's reads near the user: one D1 session per request (sequentially consistent within
 * it), starting on any replica but never before the newest revocation this isolate has heard of.
 * Writes, and reads that must see them, use `c.get("db")` (the primary).
 */
export function readDb(c: Context<AppEnv>): Db {
  let db = c.get("readDb");
  if (!db) {
    db = createReadDb(c.env.DB, c.get("limiter").readBookmark());
    c.set("readDb", db);
  }
  return db;
}
