import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { TtlCache } from "../lib/ttl-cache";
import { findKeyByHash, type KeyLookup } from "../services/api-keys";
import { API_KEY_PATTERN, bearerToken, keyRevoked, looksLikeJwt, wrongKind } from "./bearer";

/**
 * Key lookups are cached per isolate so an authenticated request costs no D1 round trip of its own.
 * Revocation still takes effect at once: the org's rate-limit object, asked on every request, knows
 * revoked keys (see durable-objects/rate-limiter.ts). Tier changes apply within this TTL.
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
  // Without the limiter nobody would hear of revocations, so the cache is only used alongside it.
  const cacheable = c.get("limiter").enabled;
  let key = cacheable ? keyCache.get(hash) : undefined;
  if (!key) {
    const found = await findKeyByHash(c.get("db"), hash);
    if (!found) throw invalid();
    if (found.revokedAt !== null) throw keyRevoked();
    key = found;
    if (cacheable) keyCache.set(hash, key);
  }
  // The cached record itself: touch-api-key.ts notes the last write on it for this isolate.
  c.set("auth", { org: key.org, key });
}

export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  await authenticateApiKey(c, c.req.header("Authorization"));
  await next();
});
