import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";
import { Client } from "./ws-client.ts";

/**
 * Conversation sockets against the real runtime (`wrangler dev`), for what the Workers test pool
 * cannot show: a conversation object evicted while its sockets stay connected (hibernation), and
 * the HTTP handshake itself (what the upgrade negotiates).
 */

const KEY = "av_test_demo00000000000000000000000000000000";
const HEADERS = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };

describe("conversation sockets in wrangler dev", () => {
  let dev: WranglerDev | undefined;
  beforeAll(async () => {
    dev = await startWranglerDev();
  }, 90_000);
  afterAll(async () => {
    await dev?.stop();
  }, 15_000);

  const base = () => {
    if (!dev) throw new Error("wrangler dev did not start");
    return dev.url;
  };
  /** How often an instance of this conversation's object started with open sockets (its log). */
  const wakes = (id: string) =>
    (dev?.output() ?? "").split("\n").filter((line) => line.includes('"message":"woke with open sockets"') && line.includes(id)).length;
  const create = async (body: Record<string, unknown> = {}) => {
    const res = await fetch(new URL("/v1/conversations", base()), {
      method: "POST",
      headers: HEADERS,
      body: JSON.stringify({ avatar_id: "av_demo", greeting: null, ...body }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; transport: { url: string }; client_secret: { value: string } };
  };

  it("after the object hibernates, its sockets keep their identity and rights, and the conversation goes on", async () => {
    const conv = await create();
    const backend = await Client.open(conv.transport.url, HEADERS);
    const browser = await Client.open(`${conv.transport.url}?token=${conv.client_secret.value}`);
    const readyBackend = await backend.next("session.ready");
    const readyBrowser = await browser.next("session.ready");
    backend.ws.send(JSON.stringify({ type: "input.text", event_id: "before", text: "Hello before the nap." }));
    const first = await backend.next("metrics.turn");

    // Idle for longer than the runtime keeps an idle object (about 10 s): only the exact keep-alive
    // frame, which the runtime answers itself without waking the object.
    const idleSince = Date.now();
    while (Date.now() - idleSince < 13_000) {
      backend.ws.send('{"type":"session.keep_alive"}');
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const wokeBefore = wakes(conv.id);
    // The browser's socket still has a client secret's rights (from its attachment)...
    const mark = browser.events.length;
    browser.ws.send(JSON.stringify({ type: "avatar.speak", event_id: "not-mine", text: "I say so." }));
    expect(await browser.next("error", mark)).toMatchObject({ code: "scope.denied", reply_to: "not-mine" });
    // ...and the backend's still talks, its turn continuing the same sequence, on both sockets.
    const from = backend.events.length;
    backend.ws.send(JSON.stringify({ type: "input.text", event_id: "after", text: "Still there?" }));
    const created = await backend.next("message.created", from);
    expect(created).toMatchObject({ reply_to: "after", message: { content: "Still there?" } });
    expect(created.seq).toBe((first.seq ?? 0) + 1);
    const done = await backend.next("agent.response.done", from);
    expect(await browser.next("agent.response.done", mark)).toEqual(done);
    // The object had been evicted: a new instance woke for those frames, with the sockets open.
    expect(wakes(conv.id)).toBeGreaterThan(wokeBefore);
    expect(readyBackend.socket_id).not.toBe(readyBrowser.socket_id);
    backend.ws.close(1000);
    browser.ws.close(1000);
  }, 45_000);

  /** `text` in the mock voice, PCM16 at 16 kHz, as the API makes it. */
  const speech = async (text: string) => {
    const res = await fetch(new URL("/v1/tts", base()), { method: "POST", headers: HEADERS, body: JSON.stringify({ text, format: "pcm_16000" }) });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  /** Binary frames of 20 ms (640 bytes), one every 20 ms, as a microphone sends them. */
  const stream = async (ws: WebSocket, audio: Buffer) => {
    const start = Date.now();
    for (let at = 0, i = 1; at < audio.length; at += 640, i++) {
      ws.send(audio.subarray(at, at + 640));
      const wait = start + i * 20 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };

  it("a socket never negotiates permessage-deflate, though the client offers it: frames go out uncompressed", async () => {
    const conv = await create();
    // Offered explicitly (it is `ws`'s default too, and every browser's).
    const client = await Client.open(conv.transport.url, HEADERS, { perMessageDeflate: true });
    expect(client.upgradeHeaders["sec-websocket-extensions"]).toBeUndefined();
    expect(client.ws.extensions).toBe("");
    expect((await client.next("session.ready")).type).toBe("session.ready");
    client.ws.close(1000);
  }, 15_000);

  it("voice over a real socket: frames arrive in order, the transcript is exact, the avatar answers, and barge-in interrupts it", async () => {
    const conv = await create({ audio_lead_ms: 500 });
    const client = await Client.open(conv.transport.url, HEADERS);
    await client.next("session.ready");
    const question = "What time does the shop open?";
    await stream(client.ws, Buffer.concat([await speech(question), Buffer.alloc(32_000)]));
    expect(await client.next("user.turn.ended")).toMatchObject({ reason: "silence", silence_ms: 600 });
    expect(await client.next("user.transcript.final")).toMatchObject({ message: { role: "user", content: question } });
    const reply = await client.next("avatar.speech.started");
    // Talking over the reply: "Stop right there." interrupts it once it has lasted min_interrupt_ms.
    const from = client.events.length;
    await stream(client.ws, Buffer.concat([await speech("Stop right there."), Buffer.alloc(32_000)]));
    const barge = await client.next("user.barge_in", from);
    expect(barge).toMatchObject({ turn_id: reply.turn_id });
    expect(await client.next("avatar.interrupted", from)).toMatchObject({ turn_id: reply.turn_id });
    expect(await client.next("user.transcript.final", from)).toMatchObject({ message: { content: "Stop right there." } });
    client.ws.close(1000);
  }, 45_000);
});
