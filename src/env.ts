import type { Config } from "./config";
import type { Db } from "./db/client";
import type { Quotas, Tier } from "./db/schema";
import type { Meter } from "./db/usage";
import type { Logger } from "./lib/logger";
import type { HitResult, Limiter } from "./lib/rate-limits";
import type { ServerTiming } from "./lib/server-timing";

/**
 * Bindings from wrangler.toml and the secrets of .dev.vars.example, generated into
 * worker-configuration.d.ts by `npm run cf-typegen`. Settings are read through `getConfig(env)`
 * (config.ts), never straight from here.
 */
export type Bindings = Cloudflare.Env;

/** The organisation a request acts for, as resolved by the auth middleware. */
export interface AuthOrg {
  id: string;
  tier: Tier;
  /** Requests per minute this org may make. */
  limit: number;
  /** Conversations it may hold at once (joined, not ended). */
  concurrency: number;
  /** Its daily quotas (its own, else its tier's). */
  quotas: Quotas;
}

export interface AuthContext {
  org: AuthOrg;
  /** The API key record used, when the caller authenticated with a key. */
  key?: { keyId: string; lastUsedAt: number | null; quotas: Partial<Quotas> | null };
  /** The signed-in user (`sub`), when the caller authenticated with a JWT. */
  userId?: string;
  /** The one conversation a browser's client secret opens, when the caller used one. */
  conversationId?: string;
  /**
   * The API key that minted that client secret: the secret is refused once the key is revoked (the
   * rate limiter's leases carry revocations), and sockets opened with it are closed.
   */
  issuedBy?: string;
}

/** Whose usage a request makes: its org, and its API key (the one behind a client secret), if any. */
export const meterOf = (auth: AuthContext): Meter => ({ orgId: auth.org.id, keyId: auth.key?.keyId ?? auth.issuedBy ?? null });

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    /** Where this request's time goes, sent back as `Server-Timing`. */
    timing: ServerTiming;
    log: Logger;
    config: Config;
    /** The D1 binding as this request reaches it (see middleware/context.ts). */
    d1: D1Database;
    db: Db;
    /** Reads near the user (a D1 session), built on first use: see `readDb` in middleware/context.ts. */
    readDb: Db | undefined;
    limiter: Limiter;
    /** Who is calling; absent only on public routes called without a key. */
    auth: AuthContext;
    /** The limiter's answer for this request; its headers go on the response, errors included. */
    rateLimit: HitResult | undefined;
  };
}
