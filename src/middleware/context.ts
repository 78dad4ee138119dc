import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { type Config, getConfig } from "../config";
import { createDb, createReadDb, type Db } from "../db/client";
import type { QuotaDeps } from "../durable-objects/quota-client";
import type { AppEnv } from "../env";
import { timedD1 } from "../lib/d1-wrap";
import { createLogger } from "../lib/logger";
import type { Limiter } from "../lib/rate-limits";
import { delayedD1, delayedNamespace } from "../lib/simulated-latency";
import { durableObjectLimiter, noLimiter } from "../services/limiter";
import type { DispatchDeps } from "../webhooks/dispatch";

// One limiter per namespace binding (stable within an isolate), not one per request.
const limiters = new WeakMap<object, Limiter>();
const limiterFor = (namespace: AppEnv["Bindings"]["RATE_LIMITER"], config: Config) => {
  let limiter = limiters.get(namespace);
  if (!limiter) {
    const reached = delayedNamespace(namespace, config.simulatedRtt.durableObjectMs);
    limiter = durableObjectLimiter(reached, createLogger({ component: "rate-limit" }));
    limiters.set(namespace, limiter);
  }
  return limiter;
};

// The D1 binding as requests reach it (the binding itself, unless the benchmark adds round trips).
const databases = new WeakMap<D1Database, D1Database>();
const databaseFor = (d1: D1Database, config: Config) => {
  let reached = databases.get(d1);
  if (!reached) {
    reached = delayedD1(d1, config.simulatedRtt.d1PrimaryMs, config.simulatedRtt.d1ReplicaMs);
    databases.set(d1, reached);
  }
  return reached;
};

/**
 * The request's view of the deployment: settings (an invalid one is `503 config.invalid` here),
 * the drizzle handle (one per D1 binding, see db/client.ts) and the rate limiter.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  c.set("config", config);
  const d1 = databaseFor(c.env.DB, config);
  c.set("d1", d1);
  c.set("db", createDb(d1));
  c.set("limiter", config.rateLimiting ? limiterFor(c.env.RATE_LIMITER, config) : noLimiter);
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
    const timing = c.get("timing");
    db = createReadDb(
      timedD1(c.get("d1"), (ms) => timing.addDb(ms)),
      c.get("limiter").readBookmark(),
    );
    c.set("readDb", db);
  }
  return db;
}

/**
 * Work that may finish after the response (`waitUntil`). Without an execution context (the app
 * called directly, as some tests do) it simply runs unawaited.
 */
export function inBackground(c: Context<AppEnv>, promise: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(promise);
  } catch {
    // No execution context.
  }
}

/** What recording and sending webhook events needs, from the request. */
export const dispatchDeps = (c: Context<AppEnv>): DispatchDeps => ({ db: c.get("db"), queue: c.env.WEBHOOKS, log: c.get("log") });

/** What the quota helpers need (services/quotas.ts): the org's limiter, off with the rate limits. */
export const quotaDeps = (c: Context<AppEnv>): QuotaDeps => ({ limiter: c.env.RATE_LIMITER, enabled: c.get("config").rateLimiting });
