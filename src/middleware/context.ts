import { createMiddleware } from "hono/factory";
import { getConfig } from "../config";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { durableObjectLimiter, noLimiter } from "../services/limiter";

/**
 * The request's view of the deployment: settings (an invalid one is `503 config.invalid` here),
 * the drizzle handle (one per D1 binding, see db/client.ts) and the rate limiter.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  c.set("config", config);
  c.set("db", createDb(c.env.DB));
  c.set("limiter", config.rateLimiting ? durableObjectLimiter(c.env.RATE_LIMITER) : noLimiter);
  await next();
});
