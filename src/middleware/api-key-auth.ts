import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { TtlCache } from "../lib/ttl-cache";
import { findKeyByHash, type KeyLookup } from "../services/api-keys";
import { authenticationFailed, refuseIfOverFailureLimit } from "./auth-failures";
import { API_KEY_PATTERN, bearerToken, keyRevoked, looksLikeJwt, wrongKind } from "./bearer";
import { readDb } from "./context";

/**
 * Key lookups are cached per isolate so an authenticated request costs no D1 round trip of its own,
 * for one lease lifetime (`LIMITER_LEASE_MS`): a tier change reaches every isolate within it.
 * Revocations do not wait for the cache: every rate-limit lease carries the org's recently revoked
 * keys (lib/leases.ts). The ceiling below only bounds a misconfigured lifetime.
 */
export const AUTH_CACHE_TTL_MS = 60_000;
const keyCache = new TtlCache<string, KeyLookup>(AUTH_CACHE_TTL_MS, 10_000);
/**
 * Hashes no key has, remembered briefly so that a client repeating a wrong key costs no lookup.
 * Only after the primary has been asked too (a replica may not have a key created a moment ago).
 */
export const UNKNOWN_KEY_TTL_MS = 60_000;
const unknownKeys = new TtlCache<string, true>(UNKNOWN_KEY_TTL_MS, 10_000);

const invalid = () => new ApiError("api_key.invalid", "Invalid API key.");

/** Resolves an API key (`Authorization: Bearer av_…`) to the org it belongs to. */
export async function authenticateApiKey(c: Context<AppEnv>, header: string | undefined) {
  const token = bearerToken(header, "api_key");
  if (looksLikeJwt(token)) throw wrongKind("api_key");
  const hash = API_KEY_PATTERN.test(token) ? await sha256Hex(token) : undefined;
  let key = hash === undefined ? undefined : keyCache.get(hash);
  if (key) c.get("timing").record("auth", 0, "cache");
  else {
    // A key this isolate has verified is never refused for its address's failures; anything else is.
    refuseIfOverFailureLimit(c);
    if (hash === undefined || unknownKeys.get(hash)) return authenticationFailed(c, invalid());
    const found = await c.get("timing").measure(
      "auth",
      async () => (await findKeyByHash(readDb(c), hash)) ?? findKeyByHash(c.get("db"), hash),
      () => "db",
    );
    if (!found) {
      unknownKeys.set(hash, true);
      return authenticationFailed(c, invalid());
    }
    key = found;
    // Revoked keys are cached too: a client retrying one costs no lookup either.
    keyCache.set(hash, key, Date.now(), Math.min(AUTH_CACHE_TTL_MS, c.get("config").limiter.leaseMs));
  }
  if (key.revokedAt !== null) throw keyRevoked();
  // The cached record itself: touch-api-key.ts notes the last write on it for this isolate.
  c.set("auth", { org: key.org, key });
}

export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  await authenticateApiKey(c, c.req.header("Authorization"));
  await next();
});
