import { abortAllDurableObjects } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEEP_ALIVE_ACK, KEEP_ALIVE_FRAME, MAX_FRAMES_PER_SECOND, type ServerEvent } from "../src/durable-objects/conversation.protocol";
import { decodeSpeech, MOCK_SAMPLE_RATE, mockVoice, planSpeech } from "../src/providers/tts/mock-speech";
import { api, expectError, KEYS } from "./helpers/http";
import { createConversation, pcmOf, type Socket, socketsClosedAfterEach, upgrade } from "./helpers/ws";

/** The conversation WebSocket with the built-in mock model and voices: the protocol end to end. */

const { open } = socketsClosedAfterEach({ ready: false });
afterEach(() => {
  vi.useRealTimers();
});

const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;

/** The logged events of one turn, from the socket's current position to its metrics. */
async function turnEvents(socket: Socket): Promise<ServerEvent[]> {
  const from = socket.position;
  await socket.next("metrics.turn");
  return socket.events.slice(from, socket.position).filter((e) => e.seq !== undefined);
}

describe("a whole conversation", () => {
  it("greets, answers with text and audio on every socket, in the same order, then ends", async () => {
    const greeting = "Hello there! How can I help you today?";
    const conv = await createConversation({ greeting });
    const a = await open(conv.id);

    const ready = await a.next("session.ready");
    expect(ready).toMatchObject({ last_seq: 0, state: "idle", replay: null, conversation: { id: conv.id, status: "active", transport: conv.transport } });
    // For this socket only, not logged: no seq a client could confuse with a logged event's.
    expect(ready.seq).toBeUndefined();
    expect(ready.socket_id).toMatch(/^sock_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ready.event_id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ready.conversation.started_at).not.toBeNull();
    expect(ready.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // The greeting is spoken when the first socket joins.
    const greet = await turnEvents(a);
    expect(greet.map((e) => e.type).filter((t) => t !== "avatar.audio.delta")).toEqual([
      "agent.response.delta",
      "avatar.speech.started",
      "avatar.speech.stopped",
      "agent.response.done",
      "metrics.turn",
    ]);
    expect((greet.at(-2) as Of<"agent.response.done">).message).toMatchObject({ role: "assistant", content: greeting, interrupted: false });

    const b = await open(conv.id);
    const readyB = await b.next("session.ready");
    expect(readyB.seq).toBeUndefined();
    expect(readyB.last_seq).toBe(greet.at(-1)?.seq);
    expect(readyB.socket_id).not.toBe(ready.socket_id);

    a.send({ type: "input.text", event_id: "q1", text: "Tell me about lighthouses in three sentences." });
    const turnA = await turnEvents(a);
    const turnB = await turnEvents(b);
    // Every socket receives every event, identically.
    expect(turnB).toEqual(turnA);
    expect(b.frames.slice(1)).toEqual(a.frames.slice(a.frames.length - b.frames.length + 1));

    const types = turnA.map((e) => e.type);
    expect(types[0]).toBe("message.created");
    expect(types.filter((t) => t !== "agent.response.delta" && t !== "avatar.audio.delta")).toEqual([
      "message.created",
      "avatar.speech.started",
      "avatar.speech.stopped",
      "agent.response.done",
      "metrics.turn",
    ]);
    for (const e of turnA) expect(e.reply_to).toBe("q1");
    const seqs = turnA.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => readyB.last_seq + 1 + i));

    const user = (turnA[0] as Of<"message.created">).message;
    expect(user).toMatchObject({ role: "user", content: "Tell me about lighthouses in three sentences.", interrupted: false });
    const done = turnA.find((e) => e.type === "agent.response.done") as Of<"agent.response.done">;
    const deltas = turnA.filter((e): e is Of<"agent.response.delta"> => e.type === "agent.response.delta");
    expect(deltas.length).toBeGreaterThan(3);
    expect(
      deltas
        .map((d) => d.delta)
        .join("")
        .trim(),
    ).toBe(done.message.content);
    expect(done.message.content.match(/[.!?](\s|$)/g)).toHaveLength(3);

    // The audio: PCM16 at 24 kHz, exactly as long as the mock voice speaks each sentence, and
    // readable back as the reply's words; alignment spells what was said.
    const audio = turnA.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(audio.every((f) => f.format === "pcm_24000" && f.turn_id === done.turn_id)).toBe(true);
    const pcm = pcmOf(audio);
    const voice = mockVoice("warm");
    if (!voice) throw new Error("no mock:warm");
    const sentences = done.message.content.match(/[^.!?]+[.!?]/g)?.map((s) => s.trim()) ?? [];
    expect(sentences).toHaveLength(3);
    const expectedSamples = sentences.reduce((n, s) => n + planSpeech(s, voice).totalSamples, 0);
    expect(pcm.length).toBe(expectedSamples);
    // Every frame has timings (empty where no character starts), and the frames' characters joined
    // are the reply, spaces between sentences included.
    expect(audio.every((f) => f.alignment !== null)).toBe(true);
    expect(audio.map((f) => f.alignment?.chars.join("") ?? "").join("")).toBe(done.message.content);
    let offset = 0;
    for (const sentence of sentences) {
      const samples = planSpeech(sentence, voice).totalSamples;
      expect(decodeSpeech(pcm.subarray(offset, offset + samples), MOCK_SAMPLE_RATE)).toBe(sentence);
      offset += samples;
    }

    const metrics = turnA.at(-1) as Of<"metrics.turn">;
    expect(metrics.turn_id).toBe(done.turn_id);
    for (const field of ["llm_first_token_ms", "tts_first_byte_ms", "first_audio_ms", "total_ms"] as const) {
      expect(metrics[field]).toBeGreaterThanOrEqual(0);
    }
    expect(metrics.first_audio_ms).toBeLessThanOrEqual(metrics.total_ms);

    // A REST message reaches the sockets too.
    const rest = (await (await post(`/v1/conversations/${conv.id}/messages`, { content: "Reply with one word." })).json()) as {
      id: string;
      input: { id: string };
    };
    const viaRest = await turnEvents(a);
    expect((viaRest[0] as Of<"message.created">).message.id).toBe(rest.input.id);
    expect(viaRest.every((e) => !("turn_id" in e) || e.turn_id === rest.id)).toBe(true);
    expect(viaRest[0]?.reply_to).toBeUndefined();

    // Ending over REST closes every socket with 1000 after session.ended.
    await post(`/v1/conversations/${conv.id}/end`, {});
    expect(await a.next("session.ended")).toMatchObject({ reason: "api_ended" });
    expect(await b.next("session.ended")).toMatchObject({ reason: "api_ended" });
    expect((await a.closedBy())?.code).toBe(1000);
    expect((await b.closedBy())?.code).toBe(1000);

    const stored = (await (await api(`/v1/conversations/${conv.id}`)).json()) as {
      status: string;
      end_reason: string;
      messages: { role: string; content: string }[];
    };
    expect(stored).toMatchObject({ status: "ended", end_reason: "api_ended" });
    expect(stored.messages.map((m) => m.role)).toEqual(["assistant", "user", "assistant", "user", "assistant"]);
    expect(stored.messages[2]?.content).toBe(done.message.content);
  });

  it("avatar.speak says the text exactly, without the model", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    await s.next("session.ready");
    s.send({ type: "avatar.speak", event_id: "say", text: "Our store opens at 9.30 tomorrow. See you then!" });
    const events = await turnEvents(s);
    expect(events.some((e) => e.type === "message.created")).toBe(false);
    const done = events.find((e) => e.type === "agent.response.done") as Of<"agent.response.done">;
    expect(done.message.content).toBe("Our store opens at 9.30 tomorrow. See you then!");
    const said = events
      .filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta")
      .map((f) => f.alignment?.chars.join(""))
      .join("");
    expect(said).toBe("Our store opens at 9.30 tomorrow. See you then!");
    expect((events.at(-1) as Of<"metrics.turn">).llm_first_token_ms).toBeNull();
  });

  it("speaks PCM at 16 kHz when the conversation asks for it", async () => {
    const conv = await createConversation({ output_audio_format: "pcm_16000" });
    const s = await open(conv.id);
    s.send({ type: "avatar.speak", text: "Testing the rate." });
    const audio = (await turnEvents(s)).filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(audio.every((f) => f.format === "pcm_16000")).toBe(true);
    // The voice gives timings: no frame (not even the resampler's last few samples) says it has none.
    expect(audio.every((f) => f.alignment !== null)).toBe(true);
    const pcm = pcmOf(audio);
    expect(decodeSpeech(pcm, 16_000)).toBe("Testing the rate.");
    // As many frames as at 24 kHz: the resampler's last samples ride in the last frame, not in one of their own.
    const at24 = await open((await createConversation()).id);
    at24.send({ type: "avatar.speak", text: "Testing the rate." });
    const audio24 = (await turnEvents(at24)).filter((e) => e.type === "avatar.audio.delta");
    expect(audio.length).toBe(audio24.length);
  });

  it("session.end from a client ends it for everyone", async () => {
    const conv = await createConversation();
    const a = await open(conv.id);
    const b = await open(conv.id);
    a.send({ type: "session.end", event_id: "bye" });
    // It answers the frame that caused it.
    expect(await b.next("session.ended")).toMatchObject({ reason: "client_ended", reply_to: "bye" });
    expect((await a.closedBy())?.code).toBe(1000);
    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { status: string; end_reason: string };
    expect(got).toMatchObject({ status: "ended", end_reason: "client_ended" });
  });

  it("an ended conversation still opens, says it is ended and closes", async () => {
    const conv = await createConversation();
    await post(`/v1/conversations/${conv.id}/end`, {});
    const s = await open(conv.id);
    expect((await s.next("session.ready")).conversation).toMatchObject({ status: "ended", end_reason: "api_ended" });
    expect((await s.closedBy())?.code).toBe(1000);
  });
});

describe("frames", () => {
  it("bad frames get an error event (with reply_to when readable) and the socket stays open", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    await s.next("session.ready");
    const cases: [string | ArrayBuffer, Record<string, unknown>][] = [
      ["not json", { code: "request.invalid_json" }],
      ['["a list"]', { code: "parameter.invalid" }],
      ['{"text":"hi"}', { code: "parameter.missing", param: "type" }],
      ['{"type":"input.dance","event_id":"e1"}', { code: "parameter.invalid", param: "type", reply_to: "e1" }],
      ['{"type":"input.text","event_id":"e2"}', { code: "parameter.missing", param: "text", reply_to: "e2" }],
      ['{"type":"input.text","event_id":"e3","text":""}', { code: "parameter.invalid", param: "text", reply_to: "e3" }],
      ['{"type":"input.text","event_id":"e4","text":"hi","mood":"happy"}', { code: "parameter.unknown", param: "mood", reply_to: "e4" }],
      [`{"type":"input.text","event_id":"e5","text":"${"x".repeat(4001)}"}`, { code: "parameter.invalid", param: "text", reply_to: "e5" }],
      [`{"type":"input.text","text":"${"x".repeat(70_000)}"}`, { code: "request.too_large" }],
      [new Uint8Array([1, 2, 3]).buffer, { code: "format.unsupported" }],
    ];
    for (const [frame, expected] of cases) {
      s.send(frame);
      const error = await s.next("error");
      expect({ frame: typeof frame === "string" ? frame.slice(0, 60) : "binary", ...error }).toMatchObject(expected);
      if (!("reply_to" in expected)) expect(error.reply_to).toBeUndefined();
      if (!("param" in expected)) expect(error.param).toBeUndefined();
      expect(typeof error.message).toBe("string");
      // Addressed to this socket only: not logged, no seq.
      expect(error.seq).toBeUndefined();
    }
    s.send({ type: "input.text", text: "Still there?" });
    expect((await s.next("agent.response.done")).message.role).toBe("assistant");
    expect(s.closed).toBeNull();
  });

  it(`more than ${MAX_FRAMES_PER_SECOND} frames a second: an error, and no model call`, async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    await s.next("session.ready");
    for (let i = 0; i < MAX_FRAMES_PER_SECOND; i++) s.send({ type: "session.keep_alive", event_id: `k${i}` });
    // The second's allowance is spent once every keep-alive is answered (the object may take frames
    // sent back to back in another order); the next frame, well within the same second, is one too many.
    await s.until(() => s.events.filter((e) => e.type === "session.keep_alive.ack").length === MAX_FRAMES_PER_SECOND, "the acks");
    s.send({ type: "input.text", event_id: "flood", text: "Answer this." });
    expect(await s.next("error")).toMatchObject({ code: "rate_limit.exceeded" });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.events.some((e) => e.type === "message.created")).toBe(false);
    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: unknown[] };
    expect(got.messages).toEqual([]);
  });

  it("the keep-alive frame is answered by the runtime; with an event_id, by an ack event", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    await s.next("session.ready");
    s.send(KEEP_ALIVE_FRAME);
    await s.until(() => s.frames.includes(KEEP_ALIVE_ACK), "the automatic ack");
    s.position = s.events.length;
    s.send({ type: "session.keep_alive", event_id: "ping-1" });
    const ack = await s.next("session.keep_alive.ack");
    expect(ack).toMatchObject({ reply_to: "ping-1" });
    expect(ack.seq).toBeUndefined();
  });
});

describe("opening the socket", () => {
  it("a plain GET is 426 websocket.upgrade_required", async () => {
    const conv = await createConversation();
    await expectError(await api(`/v1/conversations/${conv.id}/ws`), 426, { type: "invalid_request", code: "websocket.upgrade_required" });
  });

  it("the client secret opens its own conversation only, and only for ten minutes", async () => {
    const a = await createConversation();
    const b = await createConversation();
    const s = await open(a.id, { token: a.client_secret.value });
    expect((await s.next("session.ready")).conversation.id).toBe(a.id);
    await expectError(await upgrade(b.id, { token: a.client_secret.value }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 601_000);
    await expectError(await upgrade(a.id, { token: a.client_secret.value }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
  });

  it("another org's conversation is 404, with a key or with its own org's secret for another id", async () => {
    const theirs = await createConversation({}, KEYS.other);
    await expectError(await upgrade(theirs.id), 404, { type: "not_found", code: "conversation.not_found" });
    const mine = await createConversation();
    await expectError(await upgrade(theirs.id, { token: mine.client_secret.value }), 401, {
      type: "authentication",
      code: "client_secret.invalid",
      param: "token",
    });
  });

  it("last_seq must be a whole number no later than the conversation's last event", async () => {
    const conv = await createConversation();
    for (const lastSeq of ["-1", "1.5", "abc"]) {
      const res = await api(`/v1/conversations/${conv.id}/ws?last_seq=${lastSeq}`, { headers: { Upgrade: "websocket" } });
      await expectError(res, 400, { type: "invalid_request", code: "parameter.invalid", param: "last_seq" });
    }
    await expectError(await upgrade(conv.id, { lastSeq: 5 }), 400, { type: "invalid_request", code: "parameter.invalid", param: "last_seq" });
    await expectError(await api(`/v1/conversations/${conv.id}/ws?lastseq=1`, { headers: { Upgrade: "websocket" } }), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "lastseq",
    });
  });
});

describe("resume", () => {
  it("after a restart, ?last_seq replays exactly what the socket missed, then continues live", async () => {
    const conv = await createConversation({ greeting: "Welcome back." });
    const first = await open(conv.id);
    await first.next("session.ready");
    await first.next("metrics.turn");
    const seen = first.events.at(-1)?.seq ?? 0;
    first.close();

    // Missed while away: a REST turn.
    await post(`/v1/conversations/${conv.id}/messages`, { content: "Tell me about tides in two sentences." });
    const witness = await open(conv.id, { lastSeq: 0 });
    const everything = await witness.next("session.ready");
    await witness.until(() => witness.events.length - 1 === everything.replay?.events, "the full replay");
    const missed = witness.events.slice(1).filter((e) => (e.seq ?? 0) > seen);
    witness.close();

    // The object is restarted (its memory is gone, its storage stays).
    await abortAllDurableObjects();

    const back = await open(conv.id, { lastSeq: seen });
    const ready = await back.next("session.ready");
    expect(ready.replay).toEqual({ after_seq: seen, events: missed.length, complete: true });
    await back.until(() => back.events.length === 1 + missed.length, "the replay");
    expect(back.frames.slice(1)).toEqual(witness.frames.slice(1).filter((f) => ((JSON.parse(f) as ServerEvent).seq ?? 0) > seen));
    expect(back.events.slice(1).map((e) => e.seq)).toEqual(missed.map((_, i) => seen + 1 + i));

    // Then live, continuing the same sequence.
    back.position = back.events.length;
    back.send({ type: "input.text", text: "And the moon?" });
    const live = await back.next("message.created");
    expect(live.seq).toBe(seen + missed.length + 1);
  });
});
