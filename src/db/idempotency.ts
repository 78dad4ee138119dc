import { lt } from "drizzle-orm";
import type { Db } from "./client";
import { idempotencyKeys } from "./schema";

/** How long an `Idempotency-Key` is remembered (Stripe's 24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Keys past their day, removed by the scheduled sweep (a statement: await it or batch it). */
export const sweepIdempotencyKeys = (db: Db, now: number) => db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS));
