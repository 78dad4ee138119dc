import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";
import { Client } from "./ws-client.ts";

/**
 * A conversation's usage reaches D1 in one write per window, not one per turn, against the real
 * runtime with a window long enough to see (the other tests run with 20 ms).
 */

const KEY = "av_test_demo00000000000000000000000000000000";
const HEADERS = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };
const WINDOW_MS = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a conversation's usage in wrangler dev", () => {
  let dev: WranglerDev | undefined;
  beforeAll(async () => {
    dev = await startWranglerDev({ settings: { USAGE_CONVERSATIONS_BATCH_MS: String(WINDOW_MS) } });
  }, 90_000);
  afterAll(async () => {
    await dev?.stop();
  }, 15_000);

  const api = (path: string, init: RequestInit = {}) => {
    if (!dev) throw new Error("wrangler dev did not start");
    return fetch(new URL(path, dev.url), { ...init, headers: HEADERS });
  };
  const ttsCharacters = async () => {
    const res = await api("/v1/usage?metric=tts_characters");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { usage: { tts_characters?: number } }[] };
    return body.data.reduce((sum, bucket) => sum + (bucket.usage.tts_characters ?? 0), 0);
  };

  it("turns taken within the window are written together, once the window closes", async () => {
    const created = await api("/v1/conversations", { method: "POST", body: JSON.stringify({ avatar_id: "av_demo", model: "mock:echo", greeting: null }) });
    expect(created.status).toBe(201);
    const conversation = (await created.json()) as { id: string; transport: { url: string } };
    const client = await Client.open(conversation.transport.url, HEADERS);
    const started = Date.now();
    for (const text of ["Hello there.", "How are you today?"]) {
      const sent = client.events.length;
      client.ws.send(JSON.stringify({ type: "input.text", text }));
      await client.next("metrics.turn", sent);
    }
    client.ws.close();
    // Both turns are over and counted on the conversation; the org's usage has not been written yet.
    const record = (await (await api(`/v1/conversations/${conversation.id}`)).json()) as { usage: { tts_characters: number } };
    expect(record.usage.tts_characters).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(WINDOW_MS);
    expect(await ttsCharacters()).toBe(0);
    // Then one write carries both turns.
    const deadline = started + WINDOW_MS + 10_000;
    while ((await ttsCharacters()) === 0 && Date.now() < deadline) await sleep(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(await ttsCharacters()).toBe(record.usage.tts_characters);
  }, 30_000);
});
