import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { TtlCache } from "../lib/ttl-cache";
import { readDb } from "./context";
import { findKeyByHash, type KeyLookup } from "../services/api-keys";
import { API_KEY_PATTERN, bearerToken, keyRevoked, looksLikeJwt, wrongKind } from "./bearer";

/**
 * Key lookups are cached per isolate so an authenticated request costs no D1 round trip of its own,
 * for one lease lifetime (`LIMITER_LEASE_MS`): a tier change reaches every isolate within it.
 * Revocations do not wait for the cache: every rate-limit lease carries the org's recently revoked
 * keys (services/leases.ts). The ceiling below only bounds a misconfigured lifetime.
 */
export const AUTH_CACHE_TTL_MS = 60_000;
const keyCache = new TtlCache<string, KeyLookup>(AUTH_CACHE_TTL_MS, 10_000);

const invalid = () => new ApiError("api_key.invalid", "Invalid API key.");

/** Resolves an API key (`Authorization: Bearer av_…`) to the org it belongs to. */
export async function authenticateApiKey(c: Context<AppEnv>, header: string | undefined) {
  const token = bearerToken(header, "api_key");
  if (looksLikeJwt(token)) throw wrongKind("api_key");
  if (!API_KEY_PATTERN.test(token)) throw invalid();

  const hash = await sha256Hex(token);
  let key = keyCache.get(hash);
  if (key) c.get("timing").record("auth", 0, "cache");
  else {
    const found = await c.get("timing").measure("auth", () => findKeyByHash(readDb(c), hash), () => "db");
    if (!found) throw invalid();
    if (found.revokedAt !== null) throw keyRevoked();
    key = found;
    keyCache.set(hash, key, Date.now(), Math.min(AUTH_CACHE_TTL_MS, c.get("config").limiter.leaseMs));
  }
  // The cached record itself: touch-api-key.ts notes the last write on it for this isolate.
  c.set("auth", { org: key.org, key });
}

export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  await authenticateApiKey(c, c.req.header("Authorization"));
  await next();
});
