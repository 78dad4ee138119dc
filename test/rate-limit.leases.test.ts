/**
 * Leased rate limits (lib/leases.ts): several simulated isolates (`X-Sim-Holder`, honoured in
 * tests only) hold leases of one org's allowance. Time is Vitest's fake Date, which the org's object
 * shares, so windows and lease lifetimes are driven exactly.
 *
 * Requests go to the Worker's fetch handler itself (`worker.fetch`, the very module instance
 * `exports.default` serves, so the same lease holders and caches), not through
 * `exports.default.fetch`: in the pool (0.15.1) each call through the entrypoint costs more than the
 * one before it in the same file (cloudflare/workers-sdk#15446), so after the three-window test's
 * 360 requests the next test ran ten times slower than alone and timed out on a busy machine. And a
 * request's background work (a lease renewal, the next window's lease: `waitUntil`) has finished
 * when `hitAs` returns, so whether it lands before the next request does not depend on the machine's
 * speed either (the tests space requests 20 ms apart or more in simulated time; an ask to the object
 * takes about a millisecond).
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { addKey, freshOrg, userJwt } from "./helpers/auth";
import { api, BASE, expectError } from "./helpers/http";

const MINUTE = Date.UTC(2031, 0, 1, 12, 0);
const LEASE_MS = 10_000; // LIMITER_LEASE_MS's default, which the tests run with

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(MINUTE + 1_000);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** One request as the simulated isolate `holder`, answered and its background work finished. */
async function hitAs(holder: string, key: string): Promise<Response> {
  const ctx = createExecutionContext();
  const headers = { Authorization: `Bearer ${key}`, "X-Sim-Holder": holder };
  const res = await worker.fetch(new Request(new URL("/v1/avatars/av_demo", BASE), { headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** `n` concurrent requests spread over `holders` simulated isolates; how many were admitted. */
async function burst(key: string, holders: string[], n: number): Promise<number> {
  const responses = await Promise.all(Array.from({ length: n }, (_, i) => hitAs(holders[i % holders.length] ?? "h0", key)));
  for (const res of responses) expect([200, 429]).toContain(res.status);
  return responses.filter((r) => r.status === 200).length;
}

const windowsOf = (orgId: string) => runInDurableObject(env.RATE_LIMITER.getByName(`org:${orgId}`), (limiter) => limiter.windows());

describe("leased allowances", () => {
  it("never admit more than the limit in any window: six isolates, bursts at the window's edges, three windows", { timeout: 30_000 }, async () => {
    const limit = 50;
    const org = await freshOrg("enterprise", limit);
    const holders = ["h1", "h2", "h3", "h4", "h5", "h6"];
    const admitted: number[] = [];
    for (let w = 0; w < 3; w++) {
      const start = MINUTE + w * 60_000;
      let inWindow = 0;
      // Right at the boundary, early, in the middle, and the last millisecond of the window.
      for (const at of [0, 1_000, 30_000, 59_999]) {
        vi.setSystemTime(start + at);
        inWindow += await burst(org.key, holders, 30);
      }
      admitted.push(inWindow);
    }
    const granted = await windowsOf(org.id);
    for (const [w, count] of admitted.entries()) {
      expect(count).toBeLessThanOrEqual(limit);
      // What was admitted in a window was granted for that window, never for another.
      const grantedInWindow = granted.find((g) => g.start === MINUTE + w * 60_000)?.count ?? 0;
      expect(count).toBeLessThanOrEqual(grantedInWindow);
      expect(grantedInWindow).toBeLessThanOrEqual(limit);
    }
    // 120 offered per window against a limit of 50: unspent tokens come back when a lease expires, so
    // only those still held when the window ends are lost.
    const utilisation = admitted.map((n) => n / limit);
    console.log(`leases: admitted per window ${admitted.join(", ")} of ${limit} (utilisation ${utilisation.map((u) => u.toFixed(2)).join(", ")})`);
    for (const u of utilisation) expect(u).toBeGreaterThanOrEqual(0.8);
  });

  it("a small tier stays exact: a free org gets 10 of 40 requests across four isolates", async () => {
    const org = await freshOrg("free");
    // One request in the minute before, so the key lookup is cached (for a lease lifetime): then no
    // request waits on D1, all 40 reach their isolate's lease before the object has answered any,
    // and the split is the same on every run, however fast the machine.
    vi.setSystemTime(MINUTE - 5_000);
    expect((await hitAs("earlier", org.key)).status).toBe(200);
    vi.setSystemTime(MINUTE + 1_000);
    expect(await burst(org.key, ["a", "b", "c", "d"], 40)).toBe(10);
    expect(await burst(org.key, ["a", "b", "c", "d"], 8)).toBe(0);
  });

  it("a warm isolate spends its lease without asking the object on most requests", { timeout: 20_000 }, async () => {
    const org = await freshOrg("enterprise", 100_000);
    const asks = vi.spyOn(env.RATE_LIMITER, "getByName");
    let now = MINUTE + 1_000;
    const limitTimings: string[] = [];
    for (let i = 0; i < 60; i++) {
      now += 20; // 50 requests a second
      vi.setSystemTime(now);
      const res = await hitAs("warm", org.key);
      expect(res.status).toBe(200);
      limitTimings.push(/limit;dur=[\d.]+;desc="(\w+)"/.exec(res.headers.get("Server-Timing") ?? "")?.[1] ?? "missing");
    }
    const blocking = limitTimings.filter((d) => d === "ask").length;
    const calls = asks.mock.calls.filter(([name]) => name === `org:${org.id}`).length;
    console.log(`leases: ${blocking} of 60 requests waited on the org's object; ${calls} asks in all (renewals in the background)`);
    // Only the ramp-up waits: the first request, then a few while the lease grows to the isolate's rate.
    expect(limitTimings.every((d) => d === "ask" || d === "lease")).toBe(true);
    expect(blocking).toBeLessThanOrEqual(4);
    expect(limitTimings.slice(10).every((d) => d === "lease")).toBe(true);
  });

  it("a warm isolate crosses the window boundary on the next window's lease, fetched ahead, without waiting", async () => {
    const org = await freshOrg("enterprise", 1_000);
    let now = MINUTE + 58_500;
    for (let i = 0; i < 30; i++) {
      now += 40; // 25 a second, into the last two seconds of the window
      vi.setSystemTime(now);
      expect((await hitAs("boundary", org.key)).status).toBe(200);
    }
    // The next window's lease was fetched in the background of one of those requests.
    const [, next] = await windowsOf(org.id);
    expect(next).toMatchObject({ start: MINUTE + 60_000 });
    vi.setSystemTime(MINUTE + 60_000);
    const after = await hitAs("boundary", org.key);
    expect(after.status).toBe(200);
    expect(after.headers.get("Server-Timing")).toMatch(/limit;dur=[\d.]+;desc="lease"/);
    expect(after.headers.get("X-RateLimit-Reset")).toBe(String((MINUTE + 120_000) / 1000));
  });

  it("tokens of a window are not spent in the next one", async () => {
    const org = await freshOrg("enterprise", 1_000);
    vi.setSystemTime(MINUTE + 59_000);
    for (let i = 0; i < 20; i++) expect((await hitAs("edge", org.key)).status).toBe(200);
    vi.setSystemTime(MINUTE + 60_000);
    expect((await hitAs("edge", org.key)).status).toBe(200);
    const [, next] = await windowsOf(org.id);
    // The request after the boundary took a token granted for the new window.
    expect(next).toMatchObject({ start: MINUTE + 60_000 });
    expect(next?.count).toBeGreaterThanOrEqual(1);
  });
});

describe("revocation and tier changes ride on leases", () => {
  it("a key revoked by another isolate is refused by every holder within the lease lifetime", async () => {
    const org = await freshOrg("enterprise", 10_000);
    for (const h of ["r1", "r2", "r3"]) expect((await hitAs(h, org.key)).status).toBe(200);
    // Another isolate revokes: the org's object and D1 learn of it; this isolate's caches do not.
    const revokedAt = Date.now();
    await env.RATE_LIMITER.getByName(`org:${org.id}`).revokeKey(org.keyId);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(revokedAt, org.keyId).run();
    vi.setSystemTime(revokedAt + LEASE_MS);
    for (const h of ["r1", "r2", "r3"]) await expectError(await hitAs(h, org.key), 401, { type: "authentication", code: "api_key.revoked" });
  });

  it("a key revoked through this isolate is refused by every holder here at once", async () => {
    const org = await freshOrg("enterprise", 10_000);
    for (const h of ["s1", "s2", "s3"]) expect((await hitAs(h, org.key)).status).toBe(200);
    const token = await userJwt({ org_id: org.id });
    expect((await api(`/v1/api-keys/${org.keyId}`, { method: "DELETE", key: null, headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    for (const h of ["s1", "s2", "s3"]) await expectError(await hitAs(h, org.key), 401, { type: "authentication", code: "api_key.revoked" });
  });

  it("a tier change applies within the lease lifetime", async () => {
    const org = await freshOrg("pro");
    expect((await hitAs("t", org.key)).headers.get("X-RateLimit-Limit")).toBe("60");
    await env.DB.prepare("UPDATE orgs SET tier = 'free' WHERE id = ?").bind(org.id).run();
    vi.setSystemTime(Date.now() + LEASE_MS);
    expect((await hitAs("t", org.key)).headers.get("X-RateLimit-Limit")).toBe("10");
  });
});

describe("reads near the user carry the bookmark of the last revocation", () => {
  it("a revocation made elsewhere reaches this isolate's reads through the lease: they start at its bookmark", async () => {
    const org = await freshOrg("enterprise", 10_000);
    const other = await addKey(org.id, "second");
    // Another isolate revokes the first key: a write on the primary, then the object learns the bookmark.
    const primary = env.DB.withSession("first-primary");
    await primary.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), org.keyId).run();
    const bookmark = primary.getBookmark();
    expect(typeof bookmark).toBe("string");
    await env.RATE_LIMITER.getByName(`org:${org.id}`).revokeKey(org.keyId, bookmark ?? undefined);
    // A new holder asks for a lease (the reply carries the bookmark); the next key lookup starts there.
    expect((await hitAs("b1", other.key)).status).toBe(200);
    const sessions = vi.spyOn(env.DB, "withSession");
    vi.setSystemTime(Date.now() + LEASE_MS); // the key cache has expired: the next request reads D1
    expect((await hitAs("b1", other.key)).status).toBe(200);
    expect(sessions.mock.calls.map(([b]) => b)).toContain(bookmark);
    await expectError(await hitAs("b2", org.key), 401, { type: "authentication", code: "api_key.revoked" });
  });
});

describe("the org's object unreachable", () => {
  it("a valid lease still admits; without one the request fails closed with 503 rate_limit.unavailable", async () => {
    const org = await freshOrg("enterprise", 10_000);
    // Enough requests that the lease holds tokens beyond the next one.
    for (let i = 0; i < 10; i++) expect((await hitAs("alive", org.key)).status).toBe(200);
    const real = env.RATE_LIMITER.getByName.bind(env.RATE_LIMITER);
    vi.spyOn(env.RATE_LIMITER, "getByName").mockImplementation((name: string) => {
      const stub = real(name);
      return new Proxy(stub, {
        get: (target, prop) => (prop === "acquire" ? () => Promise.reject(new Error("object unreachable")) : Reflect.get(target, prop)),
      });
    });
    expect((await hitAs("alive", org.key)).status).toBe(200);
    const cold = await hitAs("cold", org.key);
    await expectError(cold, 503, { type: "service_unavailable", code: "rate_limit.unavailable" });
    expect(cold.headers.get("Retry-After")).toBe("1");
    vi.setSystemTime(Date.now() + LEASE_MS);
    await expectError(await hitAs("alive", org.key), 503, { type: "service_unavailable", code: "rate_limit.unavailable" });
  });
});
