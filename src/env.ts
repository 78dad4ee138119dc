import type { Db } from "./db/client";
import type { Tier } from "./db/schema";

/**
 * Bindings from wrangler.toml and the secrets of .dev.vars.example (both generated into
 * worker-configuration.d.ts by `npm run cf-typegen`), plus optional settings.
 */
export interface Bindings extends Cloudflare.Env {
  /** Overrides the origin of URLs this API hands out (signed model URLs); defaults to the request's. */
  PUBLIC_BASE_URL?: string;
  /** Verify user JWTs (RS256/ES256) against this JWKS instead of JWT_SECRET (HS256). */
  JWT_JWKS_URL?: string;
  /** Required `iss` of user JWTs, when set. */
  JWT_ISSUER?: string;
  /** Required `aud` of user JWTs, when set. */
  JWT_AUDIENCE?: string;
  /** "off" disables rate limiting: only for the benchmark's with/without comparison. */
  RATE_LIMITING?: string;
}

/** The organisation a request acts for, as resolved by the auth middleware. */
export interface AuthOrg {
  id: string;
  tier: Tier;
  /** Requests per minute this org may make. */
  limit: number;
}

export interface AuthContext {
  org: AuthOrg;
  /** The API key record used, when the caller authenticated with a key. */
  key?: { keyId: string; lastUsedAt: number | null };
  /** The signed-in user (`sub`), when the caller authenticated with a JWT. */
  userId?: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    db: Db;
    auth: AuthContext;
  };
}
