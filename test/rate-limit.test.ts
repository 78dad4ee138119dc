/**
 * Requests go to the Worker's fetch handler itself (`worker.fetch`, the module instance
 * `exports.default` serves) rather than through `exports.default.fetch`, whose cost in the pool
 * grows with every call a file has made (cloudflare/workers-sdk#15446), and each returns once its
 * background work (`waitUntil`: lease renewals, `last_used_at`) has finished: what a test checks
 * next does not depend on how fast the machine got that work done.
 */
import { abortAllDurableObjects, createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { addKey, freshOrg, userJwt } from "./helpers/auth";
import { BASE, expectError, KEYS } from "./helpers/http";

// Pinned to the middle of a minute, so a test never straddles a window boundary.
const MINUTE = Date.UTC(2030, 0, 1, 12, 0);
const IN_WINDOW = MINUTE + 20_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(IN_WINDOW);
});
afterEach(() => vi.useRealTimers());

/** As helpers/http.ts's `api`, answered by the fetch handler and with its background work done. */
async function api(path: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const { key = KEYS.demo, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key !== null && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${key}`);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(new URL(path, BASE), { ...rest, headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const headers = (res: Response) => ({
  limit: res.headers.get("X-RateLimit-Limit"),
  remaining: res.headers.get("X-RateLimit-Remaining"),
  reset: res.headers.get("X-RateLimit-Reset"),
  policy: res.headers.get("RateLimit-Policy"),
  state: res.headers.get("RateLimit"),
});

const countRows = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n;

describe("per-organisation limits", () => {
  it("a free org gets exactly 10 of 50 concurrent requests, and 40 429s with correct headers", async () => {
    const org = await freshOrg("free");
    // One request in the minute before, so the key lookup is cached (for a lease lifetime): then no
    // request waits on D1, all 50 reach the isolate's lease before the object has answered any, and
    // the split is the same on every run, however fast the machine.
    vi.setSystemTime(MINUTE - 5_000);
    expect((await api("/v1/avatars/av_demo", { key: org.key })).status).toBe(200);
    vi.setSystemTime(MINUTE + 1_000);
    const responses = await Promise.all(Array.from({ length: 50 }, () => api("/v1/avatars/av_demo", { key: org.key })));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(limited).toHaveLength(40);

    const reset = String((MINUTE + 60_000) / 1000);
    expect(ok.map((r) => Number(r.headers.get("X-RateLimit-Remaining"))).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const res of ok) {
      const h = headers(res);
      expect(h).toMatchObject({ limit: "10", reset, policy: '"minute";q=10;w=60' });
      expect(h.state).toBe(`"minute";r=${h.remaining};t=59`);
    }
    for (const res of limited) {
      expect(headers(res)).toEqual({ limit: "10", remaining: "0", reset, policy: '"minute";q=10;w=60', state: '"minute";r=0;t=59' });
      expect(res.headers.get("Retry-After")).toBe("59");
      await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    }
  });

  it("uses each tier's limit and the enterprise org's own number", async () => {
    for (const [tier, custom, expected] of [
      ["creator", null, "30"],
      ["pro", null, "60"],
      ["enterprise", 1234, "1234"],
    ] as const) {
      const org = await freshOrg(tier, custom);
      const res = await api("/v1/avatars", { key: org.key });
      expect(res.status).toBe(200);
      expect(headers(res)).toMatchObject({ limit: expected, remaining: String(Number(expected) - 1) });
    }
  });

  it("puts the headers on authenticated errors too", async () => {
    const org = await freshOrg("pro");
    const notFound = await api("/v1/avatars/av_missing", { key: org.key });
    expect(headers(notFound)).toMatchObject({ limit: "60", remaining: "59" });
    await expectError(notFound, 404, { type: "not_found", code: "avatar.not_found" });
    const invalid = await api("/v1/avatars?limit=0", { key: org.key });
    expect(headers(invalid)).toMatchObject({ limit: "60", remaining: "58" });
    await expectError(invalid, 400, { type: "invalid_request", code: "parameter.invalid", param: "limit" });
  });

  it("the window resets at the next minute, and the alarm clears old windows", async () => {
    const org = await freshOrg("free");
    for (let i = 0; i < 10; i++) expect((await api("/v1/avatars", { key: org.key })).status).toBe(200);
    expect((await api("/v1/avatars", { key: org.key })).status).toBe(429);

    vi.setSystemTime(MINUTE + 60_000 + 5_000);
    const next = await api("/v1/avatars", { key: org.key });
    expect(next.status).toBe(200);
    expect(headers(next)).toMatchObject({ remaining: "9", reset: String((MINUTE + 120_000) / 1000) });

    const stub = env.RATE_LIMITER.getByName(`org:${org.id}`);
    expect(await runInDurableObject(stub, (limiter) => limiter.windows())).toEqual([
      { start: MINUTE, count: 10 },
      { start: MINUTE + 60_000, count: 1 },
    ]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (limiter) => limiter.windows())).toEqual([{ start: MINUTE + 60_000, count: 1 }]);
  });

  it("the count survives the object being restarted mid-window", async () => {
    const org = await freshOrg("free");
    for (let i = 0; i < 6; i++) expect((await api("/v1/avatars", { key: org.key })).status).toBe(200);
    // The object wrote each grant before answering, and no renewal is in flight: kill every object.
    await abortAllDurableObjects();
    const after = await api("/v1/avatars", { key: org.key });
    expect(after.status).toBe(200);
    expect(headers(after).remaining).toBe("3");
  });

  it("rejected requests do no work: no favourite written, no key created, no last_used_at", async () => {
    const org = await freshOrg("free");
    // A second key of the same org that has never been used: nothing in any isolate remembers a
    // write for it, so a rejected request that still ran the bookkeeping would stamp last_used_at.
    const unused = await addKey(org.id, "unused");
    for (let i = 0; i < 10; i++) expect((await api("/v1/avatars", { key: org.key })).status).toBe(200);

    await expectError(await api("/v1/avatars", { key: unused.key }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    const favorite = await api("/v1/avatars/av_demo/favorite", { method: "PUT", key: unused.key });
    await expectError(favorite, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect(await countRows("SELECT count(*) AS n FROM avatar_favorites WHERE org_id = ?", org.id)).toBe(0);

    const token = await userJwt({ org_id: org.id });
    const createKey = await api("/v1/api-keys", {
      method: "POST",
      key: token,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "blocked", mode: "live" }),
    });
    await expectError(createKey, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect(await countRows("SELECT count(*) AS n FROM api_keys WHERE org_id = ?", org.id)).toBe(2);

    // The admitted requests did stamp the first key (so the bookkeeping is on); the rejected ones
    // left the second untouched. Every request's background work has finished by now.
    expect(await countRows("SELECT count(*) AS n FROM api_keys WHERE id = ? AND last_used_at IS NOT NULL", org.keyId)).toBe(1);
    expect(await countRows("SELECT count(*) AS n FROM api_keys WHERE id = ? AND last_used_at IS NOT NULL", unused.keyId)).toBe(0);
  });

  it("key management by JWT counts against the same org limit", async () => {
    const org = await freshOrg("free");
    const token = await userJwt({ org_id: org.id });
    const res = await api("/v1/api-keys", { key: token });
    expect(headers(res)).toMatchObject({ limit: "10", remaining: "9" });
    const byKey = await api("/v1/avatars", { key: org.key });
    expect(headers(byKey)).toMatchObject({ remaining: "8" });
  });

  it("orgs do not share windows", async () => {
    const a = await freshOrg("free");
    const b = await freshOrg("free");
    for (let i = 0; i < 10; i++) await api("/v1/avatars", { key: a.key });
    expect((await api("/v1/avatars", { key: a.key })).status).toBe(429);
    expect(headers(await api("/v1/avatars", { key: b.key }))).toMatchObject({ remaining: "9" });
  });
});

describe("per-address limits on public endpoints", () => {
  const from = (ip: string) => ({ key: null, headers: { "CF-Connecting-IP": ip } });

  it("counts requests per client address, with the same headers", async () => {
    const limit = Number(env.PUBLIC_RATE_LIMIT_PER_MINUTE);
    const first = await api("/v1/openapi.json", from("203.0.113.7"));
    expect(first.status).toBe(200);
    expect(headers(first)).toMatchObject({ limit: String(limit), remaining: String(limit - 1) });
    expect(headers(await api("/docs", from("203.0.113.7")))).toMatchObject({ remaining: String(limit - 2) });
    expect(headers(await api("/docs", from("198.51.100.1")))).toMatchObject({ remaining: String(limit - 1) });
  });

  it("answers 429 once an address is over the limit", async () => {
    const limit = Number(env.PUBLIC_RATE_LIMIT_PER_MINUTE);
    const stub = env.RATE_LIMITER.getByName("ip:203.0.113.99");
    await Promise.all(Array.from({ length: limit }, () => stub.hit(limit)));
    const res = await api("/docs", from("203.0.113.99"));
    expect(res.headers.get("Retry-After")).toBe("40");
    await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
  });

  it("signed model downloads are limited per address", async () => {
    const model = (await (await api("/v1/avatars/av_demo/model")).json()) as { url: string };
    const res = await api(model.url, from("203.0.113.8"));
    expect(res.status).toBe(200);
    expect(headers(res).remaining).toBe(String(Number(env.PUBLIC_RATE_LIMIT_PER_MINUTE) - 1));
  });

  it("/health is never limited", async () => {
    const res = await api("/health", from("203.0.113.9"));
    expect(res.status).toBe(200);
    expect(res.headers.get("X-RateLimit-Limit")).toBeNull();
  });
});
