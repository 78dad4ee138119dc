import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { addKey, freshOrg } from "./helpers/auth";
import { api, expectError, KEYS } from "./helpers/http";
import { createConversation, socketsClosedAfterEach } from "./helpers/ws";

/**
 * Metering per org, API key and UTC day, against known work: speech of a known length, a chat
 * completion whose usage the mock reports, a conversation's turns and seconds, and requests; read
 * back through `GET /v1/usage` and on the conversation itself.
 */

const { open } = socketsClosedAfterEach();

const today = () => new Date().toISOString().slice(0, 10);
const post = (path: string, body: unknown, key: string) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

interface Bucket {
  object: "usage";
  id: string;
  day: string | null;
  key_id: string | null;
  usage: Record<string, number>;
}
interface UsageList {
  object: "list";
  data: Bucket[];
  has_more: boolean;
  next_cursor: string | null;
}

const usageOf = async (key: string, query = "") => {
  const res = await api(`/v1/usage${query}`, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as UsageList;
};

/** What D1 holds for the org, summed per metric (requests left out unless asked for). */
async function stored(orgId: string, keyId?: string): Promise<Record<string, number>> {
  const rows = await env.DB.prepare(
    `SELECT metric, SUM(quantity) AS n FROM usage WHERE org_id = ? ${keyId === undefined ? "" : "AND key_id = ?"} GROUP BY metric`,
  )
    .bind(...(keyId === undefined ? [orgId] : [orgId, keyId]))
    .all<{ metric: string; n: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.metric, r.n]));
}

describe("metering, per API key", () => {
  it("speech: the characters of a request, to the key that made it", async () => {
    const org = await freshOrg("enterprise", 1000);
    const second = await addKey(org.id, "second");
    const text = "Twenty-six characters now.";
    const res = await post("/v1/tts", { text, voice_id: "mock:warm" }, second.key);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await vi.waitFor(async () => expect((await stored(org.id, second.keyId)).tts_characters).toBe([...text].length));
    expect((await stored(org.id, org.keyId)).tts_characters).toBeUndefined();

    const byKey = await usageOf(org.key, "?group_by=key&metric=tts_characters");
    expect(byKey.data).toEqual([{ object: "usage", id: second.keyId, day: null, key_id: second.keyId, usage: { tts_characters: [...text].length } }]);
  });

  it("the AI gateway: the provider's token counts, streamed or not; a stream cut short is estimated, and marked so", async () => {
    const org = await freshOrg("enterprise", 1000);
    const messages = [{ role: "user", content: "Hello there, how are you today?" }];
    const plain = (await (await post("/v1/ai/chat/completions", { model: "mock:echo", messages }, org.key)).json()) as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    await vi.waitFor(async () =>
      expect(await stored(org.id)).toMatchObject({ llm_input_tokens: plain.usage.prompt_tokens, llm_output_tokens: plain.usage.completion_tokens }),
    );
    expect((await stored(org.id)).llm_tokens_estimated).toBeUndefined();

    const streamed = await post("/v1/ai/chat/completions", { model: "mock:echo", messages, stream: true }, org.key);
    await streamed.text();
    await vi.waitFor(async () =>
      expect(await stored(org.id)).toMatchObject({ llm_input_tokens: 2 * plain.usage.prompt_tokens, llm_output_tokens: 2 * plain.usage.completion_tokens }),
    );

    // A client that goes away after the first chunk: the mock never got to report its usage.
    const cut = await post("/v1/ai/chat/completions", { model: "mock:echo", messages: [{ role: "user", content: "Tell me a story" }], stream: true }, org.key);
    const reader = cut.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    await vi.waitFor(async () => expect((await stored(org.id)).llm_tokens_estimated).toBeGreaterThan(0));
    const after = await stored(org.id);
    expect(after.llm_input_tokens).toBeGreaterThan(2 * plain.usage.prompt_tokens);
    const cutTokens = (after.llm_input_tokens ?? 0) - 2 * plain.usage.prompt_tokens + (after.llm_output_tokens ?? 0) - 2 * plain.usage.completion_tokens;
    expect(after.llm_tokens_estimated).toBe(cutTokens);
  });

  it("requests: each admitted request once, to its key, written within seconds", async () => {
    const org = await freshOrg("enterprise", 1000);
    for (let i = 0; i < 7; i++) expect((await api("/v1/avatars", { key: org.key })).status).toBe(200);
    // A refused request (no such route for a bad key) is not admitted: not counted.
    expect((await api("/v1/avatars", { key: `${org.key}x` })).status).toBe(401);
    await vi.waitFor(async () => expect((await stored(org.id, org.keyId)).requests).toBe(7), { timeout: 5000, interval: 100 });
    await new Promise((r) => setTimeout(r, 1200));
    expect((await stored(org.id, org.keyId)).requests).toBe(7);
  });

  it("a conversation: its turns' usage and its seconds, on its record, in conversation.ended and in the org's usage", async () => {
    const org = await freshOrg("enterprise", 1000);
    const conv = await createConversation({}, org.key);
    expect(conv.usage).toEqual({
      conversation_seconds: 0,
      tts_characters: 0,
      llm_input_tokens: 0,
      llm_output_tokens: 0,
      llm_tokens_estimated: 0,
      stt_seconds: 0,
    });
    const socket = await open(conv.id, { key: org.key });
    socket.send({ type: "avatar.speak", text: "Hello there." });
    await socket.next("metrics.turn");
    socket.send({ type: "input.text", text: "Reply with one word." });
    await socket.next("metrics.turn");
    await new Promise((r) => setTimeout(r, 1100));
    const live = (await (await api(`/v1/conversations/${conv.id}`, { key: org.key })).json()) as { usage: Record<string, number> };
    expect(live.usage.tts_characters).toBeGreaterThanOrEqual("Hellothere.".length);
    expect(live.usage.llm_input_tokens).toBeGreaterThan(0);
    expect(live.usage.conversation_seconds).toBeGreaterThanOrEqual(2);

    const ended = (await (await api(`/v1/conversations/${conv.id}/end`, { method: "POST", key: org.key })).json()) as {
      usage: Record<string, number>;
      started_at: string;
      ended_at: string;
    };
    expect(ended.usage).toMatchObject({ tts_characters: live.usage.tts_characters, llm_input_tokens: live.usage.llm_input_tokens });
    await vi.waitFor(async () => {
      const events = (await (await api("/v1/events?type=conversation.ended", { key: org.key })).json()) as {
        data: { data: { conversation: { usage: unknown } } }[];
      };
      expect(events.data[0]?.data.conversation.usage).toEqual(ended.usage);
    });
    // The org's usage has exactly the conversation's, under the key that created it.
    await vi.waitFor(async () => {
      const { requests: _requests, ...metered } = await stored(org.id, org.keyId);
      const { llm_tokens_estimated, ...rest } = ended.usage;
      expect(metered).toEqual(Object.fromEntries(Object.entries({ ...rest, llm_tokens_estimated }).filter(([, n]) => (n ?? 0) > 0)));
    });
    // And the list reads it from the index.
    const listed = (await (await api("/v1/conversations?limit=1", { key: org.key })).json()) as { data: { usage: unknown }[] };
    expect(listed.data[0]?.usage).toEqual(ended.usage);
  });
});

describe("GET /v1/usage", () => {
  /** Usage written straight to D1 for the days given (a test controls its dates). */
  async function seed(orgId: string, rows: [day: string, metric: string, keyId: string, quantity: number][]) {
    await env.DB.batch(
      rows.map(([day, metric, keyId, quantity]) =>
        env.DB.prepare("INSERT INTO usage (org_id, day, metric, key_id, quantity) VALUES (?, ?, ?, ?, ?)").bind(orgId, day, metric, keyId, quantity),
      ),
    );
  }

  it("per day newest first, every metric asked for (zeros included), paged; per key with usage made without a key last", async () => {
    const org = await freshOrg("enterprise", 1000);
    await seed(org.id, [
      ["2026-11-01", "tts_characters", "key_a", 10],
      ["2026-11-01", "tts_characters", "key_b", 5],
      ["2026-11-02", "conversation_seconds", "key_a", 60],
      ["2026-11-03", "llm_input_tokens", "", 7],
      ["2026-10-01", "tts_characters", "key_a", 1000],
    ]);
    const range = "from=2026-11-01&to=2026-11-30";
    const page1 = await usageOf(org.key, `?${range}&limit=2`);
    expect(page1.data.map((b) => b.id)).toEqual(["2026-11-03", "2026-11-02"]);
    expect(page1.data[0]).toEqual({
      object: "usage",
      id: "2026-11-03",
      day: "2026-11-03",
      key_id: null,
      usage: { conversation_seconds: 0, tts_characters: 0, llm_input_tokens: 7, llm_output_tokens: 0, llm_tokens_estimated: 0, stt_seconds: 0, requests: 0 },
    });
    expect(page1).toMatchObject({ has_more: true, next_cursor: "2026-11-02" });
    const page2 = await usageOf(org.key, `?${range}&limit=2&starting_after=2026-11-02`);
    expect(page2.data.map((b) => b.id)).toEqual(["2026-11-01"]);
    expect(page2).toMatchObject({ has_more: false, next_cursor: null });
    // Only the metrics asked for; a day with none of them is left out.
    const some = await usageOf(org.key, `?${range}&metric=tts_characters,conversation_seconds`);
    expect(some.data).toEqual([
      { object: "usage", id: "2026-11-02", day: "2026-11-02", key_id: null, usage: { tts_characters: 0, conversation_seconds: 60 } },
      { object: "usage", id: "2026-11-01", day: "2026-11-01", key_id: null, usage: { tts_characters: 15, conversation_seconds: 0 } },
    ]);

    const all = await usageOf(org.key, `?${range}&group_by=key`);
    expect(all.data.map((b) => b.id)).toEqual(["key_b", "key_a", "none"]);
    expect(all.data[1]?.usage).toEqual({
      conversation_seconds: 60,
      tts_characters: 10,
      llm_input_tokens: 0,
      llm_output_tokens: 0,
      llm_tokens_estimated: 0,
      stt_seconds: 0,
      requests: 0,
    });
    expect(all.data[2]).toMatchObject({ key_id: null, usage: { llm_input_tokens: 7 } });
  });

  it("defaults to the last 30 days; another org's usage is never in it", async () => {
    const org = await freshOrg("enterprise", 1000);
    const other = await freshOrg("enterprise", 1000);
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    await seed(org.id, [
      [today(), "stt_seconds", "", 3],
      [old, "stt_seconds", "", 99],
    ]);
    await seed(other.id, [[today(), "stt_seconds", "", 1000]]);
    const list = await usageOf(org.key, "?metric=stt_seconds");
    expect(list.data).toEqual([{ object: "usage", id: today(), day: today(), key_id: null, usage: { stt_seconds: 3 } }]);
    expect((await usageOf(KEYS.other, `?from=${today()}&metric=stt_seconds`)).data.every((b) => (b.usage.stt_seconds ?? 0) < 1000)).toBe(true);
  });

  it("refuses what it cannot answer, with the param", async () => {
    const cases: [string, string][] = [
      ["?from=2026-11-05&to=2026-11-01", "from"],
      ["?from=2026-02-30", "from"],
      ["?to=26-11-01", "to"],
      ["?from=2024-01-01&to=2026-01-01", "from"],
      ["?metric=tts_characters,bananas", "metric"],
      ["?group_by=hour", "group_by"],
      ["?from=2026-11-01&to=2026-11-02&starting_after=2026-10-01", "starting_after"],
      ["?colour=blue", "colour"],
    ];
    for (const [query, param] of cases) {
      const res = await api(`/v1/usage${query}`);
      await expectError(res, 400, { type: "invalid_request", code: param === "colour" ? "parameter.unknown" : "parameter.invalid", param });
    }
    await expectError(await api("/v1/usage", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
  });
});
