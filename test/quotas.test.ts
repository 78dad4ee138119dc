import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { freshOrg, userJwt } from "./helpers/auth";
import { api, expectError } from "./helpers/http";
import { createConversation, socketsClosedAfterEach } from "./helpers/ws";

/**
 * Daily quotas of an org (its tier's, or its own) and of an API key: refused with `402
 * quota_exceeded` and the matching code, exact under concurrency where the size of the work is
 * known before it runs, and a conversation that runs out of seconds is warned and ended.
 */

const { open } = socketsClosedAfterEach();

const post = (path: string, body: unknown, key: string) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const tts = (text: string, key: string) => post("/v1/tts", { text, voice_id: "mock:warm" }, key);
const tomorrow = () => `${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`;

/** An org with room in its rate limit and the daily quotas given (the rest: unlimited). */
async function orgWithQuotas(quotas: Record<string, number | null>) {
  const org = await freshOrg("enterprise", 10_000);
  await env.DB.prepare("UPDATE orgs SET quotas = ? WHERE id = ?").bind(JSON.stringify(quotas), org.id).run();
  return org;
}

const ledger = (orgId: string) => env.RATE_LIMITER.getByName(`org:${orgId}`);

describe("speech characters", () => {
  it("exact under 50 requests at once: 100 characters a day, 10 a request, exactly 10 spoken and 40 refused", async () => {
    const org = await orgWithQuotas({ tts_characters: 100 });
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await tts("0123456789", org.key);
        if (res.status === 200) {
          await res.arrayBuffer();
          return { status: res.status, body: null };
        }
        return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
      }),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    const refused = answers.filter((a) => a.status === 402);
    expect(refused).toHaveLength(40);
    expect(refused[0]?.body?.error.code).toBe("quota.tts_characters");
    expect(refused[0]?.body?.error.message).toContain("your organisation's daily quota of 100 characters of speech");
    expect(refused[0]?.body?.error.message).toContain(`resets at ${tomorrow()}`);
    expect(await ledger(org.id).quotaUsed("tts_characters", null)).toBe(100);
    // What was spoken is what was metered.
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT SUM(quantity) AS n FROM usage WHERE org_id = ? AND metric = 'tts_characters'")
        .bind(org.id)
        .first<{ n: number }>();
      expect(row?.n).toBe(100);
    });
    const res = await tts("x", org.key);
    await expectError(res, 402, { type: "quota_exceeded", code: "quota.tts_characters" });
    expect(res.headers.get("X-Should-Retry")).toBe("false");
  });

  it("a synthesis that fails gives its reservation back", async () => {
    const org = await orgWithQuotas({ tts_characters: 10 });
    await expectError(await post("/v1/tts", { text: "0123456789", voice_id: "mock:nobody" }, org.key), 422, {
      type: "unprocessable",
      code: "voice.unknown",
      param: "voice_id",
    });
    await vi.waitFor(async () => expect(await ledger(org.id).quotaUsed("tts_characters", null)).toBe(0));
    const res = await tts("0123456789", org.key);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it("a key's own quota (a demo site's key) refuses that key only; the key shows it", async () => {
    const org = await freshOrg("enterprise", 10_000);
    const jwt = await userJwt({ org_id: org.id });
    const made = await post("/v1/api-keys", { name: "demo site", mode: "test", quotas: { tts_characters: 20, conversation_seconds: 600 } }, jwt);
    expect(made.status).toBe(201);
    const key = (await made.json()) as { id: string; secret: string; quotas: unknown };
    expect(key.quotas).toEqual({ conversation_seconds: 600, tts_characters: 20, llm_tokens: null });
    const listed = (await (await api("/v1/api-keys", { key: jwt })).json()) as { data: { id: string; quotas: unknown }[] };
    expect(listed.data.find((k) => k.id === key.id)?.quotas).toEqual(key.quotas);

    expect((await tts("0123456789", key.secret)).status).toBe(200);
    expect((await tts("0123456789", key.secret)).status).toBe(200);
    const over = await tts("0", key.secret);
    const error = await expectError(over, 402, { type: "quota_exceeded", code: "quota.tts_characters" });
    expect(error.message).toContain("this API key's daily quota of 20");
    // The org's other key is not limited by it.
    const other = await tts("0123456789", org.key);
    expect(other.status).toBe(200);
    await other.arrayBuffer();

    for (const bad of [{ tts_characters: -1 }, { tts_characters: 1.5 }, { requests: 5 }]) {
      const res = await post("/v1/api-keys", { name: "bad", quotas: bad }, jwt);
      expect(res.status).toBe(400);
    }
  });

  it("quota.warning at 80 % and at 100 %, once each", async () => {
    const org = await orgWithQuotas({ tts_characters: 10 });
    for (const text of ["01234567", "0", "0"]) {
      const res = await tts(text, org.key);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect((await tts("0", org.key)).status).toBe(402);
    await vi.waitFor(async () => {
      const events = (await (await api("/v1/events?type=quota.warning", { key: org.key })).json()) as { data: { data: Record<string, unknown> }[] };
      expect(events.data.map((e) => e.data.percent)).toEqual([100, 80]);
      expect(events.data[1]?.data).toMatchObject({ metric: "tts_characters", scope: "org", key_id: null, used: 8, limit: 10, resets_at: tomorrow() });
    });
  });
});

describe("model tokens", () => {
  it("counted after each completion; once reached, the next is refused", async () => {
    const org = await orgWithQuotas({ llm_tokens: 10 });
    const chat = () =>
      post("/v1/ai/chat/completions", { model: "mock:echo", messages: [{ role: "user", content: "Hello there, how are you today?" }] }, org.key);
    const first = await chat();
    expect(first.status).toBe(200);
    const { usage } = (await first.json()) as { usage: { total_tokens: number } };
    await vi.waitFor(async () => expect(await ledger(org.id).quotaUsed("llm_tokens", null)).toBe(usage.total_tokens));
    await expectError(await chat(), 402, { type: "quota_exceeded", code: "quota.llm_tokens" });
  });
});

describe("conversations", () => {
  it("out of seconds: session.expiring, then the end with quota_exceeded; then creating one is 402", async () => {
    const org = await orgWithQuotas({ conversation_seconds: 3 });
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    const expiring = await socket.next("session.expiring", 5000);
    expect(expiring).toMatchObject({ reason: "quota_exceeded" });
    expect(expiring.seconds_left).toBeLessThanOrEqual(3);
    expect(await socket.next("session.ended", 6000)).toMatchObject({ reason: "quota_exceeded" });
    const record = (await (await api(`/v1/conversations/${conv.id}`, { key: org.key })).json()) as { end_reason: string; status: string };
    expect(record).toMatchObject({ status: "ended", end_reason: "quota_exceeded" });
    // The ledger never went past the quota.
    expect(await ledger(org.id).quotaUsed("conversation_seconds", null)).toBe(3);

    const res = await post("/v1/conversations", { avatar_id: "av_demo" }, org.key);
    await expectError(res, 402, { type: "quota_exceeded", code: "quota.conversation_seconds" });
  }, 20_000);

  it("seconds not talked are given back at the end", async () => {
    const org = await orgWithQuotas({ conversation_seconds: 1000 });
    const conv = await createConversation({}, org.key);
    await open(conv.id, { key: org.key });
    expect(await ledger(org.id).quotaUsed("conversation_seconds", null)).toBe(60);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await api(`/v1/conversations/${conv.id}/end`, { method: "POST", key: org.key })).status).toBe(200);
    await vi.waitFor(async () => expect(await ledger(org.id).quotaUsed("conversation_seconds", null)).toBe(2));
  });

  it("a turn that reaches the quota of speech is the last: the next is refused on the socket and over REST", async () => {
    const org = await orgWithQuotas({ tts_characters: 5 });
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    socket.send({ type: "avatar.speak", event_id: "first", text: "Hello there." });
    await socket.next("metrics.turn");
    await vi.waitFor(async () => expect(await ledger(org.id).quotaUsed("tts_characters", null)).toBeGreaterThanOrEqual(5));
    await vi.waitFor(async () => {
      socket.send({ type: "input.text", event_id: "second", text: "Reply with one word." });
      expect(await socket.next("error", 1000)).toMatchObject({ code: "quota.tts_characters", reply_to: "second" });
    });
    const rest = await post(`/v1/conversations/${conv.id}/messages`, { content: "Hello?" }, org.key);
    await expectError(rest, 402, { type: "quota_exceeded", code: "quota.tts_characters" });
  });
});

describe("tiers", () => {
  it("free: 1,800 seconds, 50,000 characters and 500,000 tokens a day; enterprise: none unless its own", async () => {
    const free = await freshOrg("free");
    const res = await tts("a".repeat(10), free.key);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await ledger(free.id).quotaUsed("tts_characters", null)).toBe(10);
    const enterprise = await freshOrg("enterprise", 1000);
    const e = await tts("a".repeat(10), enterprise.key);
    expect(e.status).toBe(200);
    await e.arrayBuffer();
    // No quota: nothing asked of the ledger.
    expect(await ledger(enterprise.id).quotaUsed("tts_characters", null)).toBe(0);
  });
});
