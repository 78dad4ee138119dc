import type { Context } from "hono";
import pkg from "../../package.json";
import type { AppEnv } from "../env";
import { header } from "../lib/openapi";
import { inBackground } from "./context";

/** How long an anonymous list may be served from a location's cache (and by browsers and CDNs). */
export const PUBLIC_LIST_TTL_S = 60;

/** How the routes that use publicCached document it. */
export const PUBLIC_CACHE_HEADERS = {
  "Cache-Control": header(`\`public, max-age=${PUBLIC_LIST_TTL_S}\` on an anonymous request (the answer is the same for everyone); absent with an API key.`),
};

/**
 * Anonymous GETs of lists that rarely change (the preset personas, the voices): answered from this
 * location's Cache API for `PUBLIC_LIST_TTL_S`, so a read near the user costs no database query.
 * The cache key carries the deployed version, so a deploy (which is what changes presets) purges
 * them everywhere at once; a voice added to the ElevenLabs account shows within the TTL; an organisation's own records are only in API-key answers, which are never
 * cached. The Cache API is per location and best effort: a miss or a failure just asks the database.
 */
export async function publicCached(c: Context<AppEnv>, produce: () => Promise<Response>): Promise<Response> {
  if (c.req.method !== "GET" || c.get("auth") !== undefined) return produce();
  const url = new URL(c.req.url);
  url.searchParams.set("__v", pkg.version);
  const key = new Request(url.toString(), { method: "GET" });
  const cache = (globalThis as { caches?: { default: Cache } }).caches?.default;
  const hit = await cache?.match(key).catch(() => undefined);
  if (hit) {
    c.get("timing").record("cache", 0, "hit");
    return new Response(hit.body, hit);
  }
  const res = await produce();
  if (res.status !== 200) return res;
  res.headers.set("Cache-Control", `public, max-age=${PUBLIC_LIST_TTL_S}`);
  if (cache)
    inBackground(
      c,
      cache.put(key, res.clone()).catch(() => undefined),
    );
  return res;
}
