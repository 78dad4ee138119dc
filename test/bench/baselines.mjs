// The platform's floor, measured in the same workerd process as the API: each baseline worker does
// the least work of its kind, so the API's routes can be judged as ratios against them.

/** (a) bare: no routing, no middleware. */
export const bare = `export default { fetch: () => new Response("ok") };`;

/** (b) bare + one D1 primary-key select on the API's own database. */
export const d1 = `export default {
  async fetch(request, env) {
    const row = await env.DB.prepare("SELECT id, name FROM avatars WHERE id = ?").bind("av_demo").first();
    return Response.json(row);
  },
};`;

/** (c) bare + one Durable Object RPC call (no storage). */
export const durableObject = `import { DurableObject } from "cloudflare:workers";
export class Echo extends DurableObject {
  n = 0;
  ping() { return ++this.n; }
}
export default {
  async fetch(request, env) {
    return Response.json({ n: await env.ECHO.getByName("bench").ping() });
  },
};`;

/**
 * (d) bare + one call of the API's own RateLimiter object (counts in memory, persists once per
 * burst), on one key: the most one organisation's requests can go through its limiter.
 */
export const limiter = `export default {
  async fetch(request, env) {
    const r = await env.RATE_LIMITER.getByName("org:bench-limiter-only").hit(1e12);
    return Response.json(r);
  },
};`;
