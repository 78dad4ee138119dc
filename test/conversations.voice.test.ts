import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conversation } from "../src/durable-objects/conversation";
import { newConnection } from "../src/durable-objects/conversation/connections";
import type { ServerEvent } from "../src/durable-objects/conversation.protocol";
import { pcm16ToBytes } from "../src/providers/tts/wav";
import { freshOrg } from "./helpers/auth";
import { api, expectError, KEYS } from "./helpers/http";
import { concatPcm, silence, speech, stream, tone } from "./helpers/voice";
import { createConversation, socketsClosedAfterEach, upgrade } from "./helpers/ws";

/**
 * Voice input through the socket, offline: the mock voice's speech (which the mock speech-to-text
 * reads back) resampled to 16 kHz and streamed in binary frames in real time (half a second each
 * here, see POOL_FRAME_MS; 20 ms over a real socket in test/node/conversation-sockets.test.ts).
 * Turn detection, barge-in, the events that explain them, settings and bad audio.
 *
 * Retried: the test pool's in-process sockets deliver frames that queue up while the object is
 * busy in reverse order (measured: 33..36 arrive as 36, 35, 34, 33 when other test files load the
 * machine), which garbles a burst of audio now and then ("Helloo there."). Real sockets keep the
 * order (5,000 numbered frames over TCP to the same runtime, loaded or not: none out of order), and
 * test/node/conversation-sockets.test.ts runs the voice loop over one.
 */

const { open } = socketsClosedAfterEach();
type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;

const QUESTION = "What time does the shop open?";
/** About 20 s of the avatar's speech: long enough to talk over. */
const STORY = Array.from({ length: 6 }, (_, i) => `This is line number ${i + 1} of a story that is long enough to take a while.`).join(" ");

describe("the voice loop", { timeout: 20_000, retry: 2 }, () => {
  it("server_vad: speech, then silence, is a turn: started, stopped, why it ended, the transcript, the reply with audio and voice metrics", async () => {
    const conv = await createConversation();
    expect(conv).toMatchObject({
      input_audio_format: "pcm_16000",
      stt: "mock:default",
      input_language: null,
      turn_detection: { type: "server_vad", threshold: 0.02, silence_ms: 600, prefix_padding_ms: 300, min_interrupt_ms: 400 },
      interruption: { enabled: true },
    });
    const s = await open(conv.id);
    await stream(s, concatPcm([silence(200), speech(QUESTION), silence(800)]));

    const started = await s.next("user.speech.started");
    expect(started.seq).toBeUndefined();
    expect(started.audio_start_ms).toBeGreaterThanOrEqual(190);
    expect(started.audio_start_ms).toBeLessThanOrEqual(260);
    const stopped = await s.next("user.speech.stopped");
    expect(stopped.seq).toBeUndefined();
    const ended = await s.next("user.turn.ended");
    expect(ended).toMatchObject({ reason: "silence", socket_id: expect.stringMatching(/^sock_/) });
    expect(ended.silence_ms).toBeGreaterThanOrEqual(600);
    expect(ended.silence_ms).toBeLessThan(700);
    expect(ended.speech_ms).toBeGreaterThan(1500);
    expect(typeof ended.seq).toBe("number");
    const final = await s.next("user.transcript.final");
    expect(final.message).toMatchObject({ role: "user", content: QUESTION });
    const created = await s.next("message.created");
    expect(created.message).toEqual(final.message);
    await s.next("avatar.audio.delta");
    const done = await s.next("agent.response.done");
    expect(done.message.content.length).toBeGreaterThan(0);
    const metrics = await s.next("metrics.turn");
    expect(metrics.stt_final_ms).toEqual(expect.any(Number));
    expect(metrics.voice_to_voice_ms).toEqual(expect.any(Number));
    // The end of speech came 600 ms of silence before the turn ended: voice to voice includes it.
    expect(metrics.voice_to_voice_ms).toBeGreaterThanOrEqual(metrics.stt_final_ms ?? 0);
    // Interim text came first, ephemeral, as prefixes of what was said.
    const interims = s.events.filter((e): e is Of<"user.transcript.delta"> => e.type === "user.transcript.delta");
    expect(interims.length).toBeGreaterThan(0);
    for (const i of interims) expect(QUESTION.startsWith(i.text)).toBe(true);
    expect(interims.every((i) => i.seq === undefined)).toBe(true);
  });

  it("a typed turn still has null voice metrics", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    s.send({ type: "input.text", text: "Hi" });
    const metrics = await s.next("metrics.turn");
    expect(metrics).toMatchObject({ stt_final_ms: null, voice_to_voice_ms: null });
  });

  it("push_to_talk: silence does not end the turn; input.audio.commit does", async () => {
    const conv = await createConversation({ turn_detection: { type: "push_to_talk" } });
    expect(conv.turn_detection).toMatchObject({ type: "push_to_talk", silence_ms: 600 });
    const s = await open(conv.id);
    await stream(s, concatPcm([speech(QUESTION), silence(1000)]));
    await s.next("user.speech.stopped");
    // A whole second of silence and no turn: only the commit ends it.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.events.some((e) => e.type === "user.turn.ended")).toBe(false);
    s.send({ type: "input.audio.commit", event_id: "ptt-1" });
    const ended = await s.next("user.turn.ended");
    expect(ended.reason).toBe("commit");
    expect(ended.silence_ms).toBeGreaterThanOrEqual(900);
    const final = await s.next("user.transcript.final");
    expect(final.message.content).toBe(QUESTION);
    await s.next("agent.response.done");
  });

  it("input.audio.append carries the same audio as base64 for clients without binary frames", async () => {
    const conv = await createConversation({ turn_detection: { type: "push_to_talk" } });
    const s = await open(conv.id);
    const audio = speech("Hello there.");
    // 100 ms an append: 10 text frames a second, inside the text frame limit.
    const step = 1600;
    for (let at = 0; at < audio.length; at += step) {
      const bytes = pcm16ToBytes(audio.slice(at, at + step));
      s.send({ type: "input.audio.append", audio: btoa(String.fromCharCode(...bytes)) });
      await new Promise((r) => setTimeout(r, 70));
    }
    s.send({ type: "input.audio.commit" });
    const final = await s.next("user.transcript.final");
    expect(final.message.content).toBe("Hello there.");
  });

  it("input.audio.clear forgets the speech: a commit then has nothing", async () => {
    const conv = await createConversation({ turn_detection: { type: "push_to_talk" } });
    const s = await open(conv.id);
    await stream(s, speech("Forget this."));
    // Every frame read before the clear: the test pool can reverse frames that queue up while the
    // object is busy, and a commit overtaking the clear would commit the speech.
    await s.until(() => s.events.some((e) => e.type === "user.transcript.delta" && e.text === "Forget this."), "the whole interim transcript");
    s.send({ type: "input.audio.clear" });
    s.send({ type: "input.audio.commit", event_id: "c1" });
    const error = await s.next("error");
    expect(error).toMatchObject({ code: "parameter.invalid", reply_to: "c1" });
    expect(s.events.some((e) => e.type === "user.transcript.final")).toBe(false);
  });

  it("the mock hears a sound that is not its voice as a placeholder with its length", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    await stream(s, concatPcm([tone(700, 0.3), silence(700)]));
    const final = await s.next("user.transcript.final");
    expect(final.message.content).toMatch(/^\[unrecognised audio, \d\.\d s\]$/);
  });
});

describe("barge-in", { timeout: 20_000, retry: 2 }, () => {
  /** The avatar telling a long story in real time (tests run unpaced otherwise). */
  const speaking = async (body: Record<string, unknown> = {}) => {
    const conv = await createConversation({ audio_lead_ms: 500, ...body });
    const s = await open(conv.id);
    s.send({ type: "avatar.speak", text: STORY });
    await s.next("avatar.audio.delta");
    return s;
  };

  it("600 ms of speech interrupts the avatar, and the words become the next turn", async () => {
    const s = await speaking();
    await stream(s, concatPcm([speech("Stop right there."), silence(800)]));
    const barge = await s.next("user.barge_in");
    expect(barge.speech_ms).toBeGreaterThanOrEqual(400);
    expect(barge.speech_ms).toBeLessThan(800);
    expect(barge.turn_id).toMatch(/^turn_/);
    const interrupted = await s.next("avatar.interrupted");
    expect(interrupted.turn_id).toBe(barge.turn_id);
    const final = await s.next("user.transcript.final");
    expect(final.message.content).toBe("Stop right there.");
    // The reply to it starts (and is spoken in real time: no need to wait for its end).
    expect((await s.next("avatar.speech.started")).turn_id).not.toBe(barge.turn_id);
  });

  it("100 ms of sound does not interrupt; it is reported as too short", async () => {
    const s = await speaking();
    await stream(s, concatPcm([tone(100, 0.3), silence(800)]));
    const ignored = await s.next("user.speech.ignored");
    expect(ignored.reason).toBe("too_short");
    expect(ignored.speech_ms).toBeLessThan(150);
    expect(s.events.some((e) => e.type === "avatar.interrupted" || e.type === "user.barge_in")).toBe(false);
  });

  it("a spoken 'uh-huh' does not interrupt; it is a backchannel", async () => {
    const s = await speaking();
    await stream(s, concatPcm([speech("uh-huh"), silence(800)]));
    const ignored = await s.next("user.speech.ignored");
    expect(ignored).toMatchObject({ reason: "backchannel", transcript: "uh-huh" });
    expect(ignored.speech_ms).toBeGreaterThanOrEqual(400);
    expect(s.events.some((e) => e.type === "avatar.interrupted" || e.type === "user.barge_in")).toBe(false);
  });

  it("interruption.enabled false: the avatar finishes, and the speech is the next turn", async () => {
    const conv = await createConversation({ interruption: { enabled: false }, audio_lead_ms: 500 });
    const s = await open(conv.id);
    s.send({ type: "avatar.speak", text: "A short one." });
    await s.next("avatar.audio.delta");
    await stream(s, concatPcm([speech("Stop right there."), silence(800)]));
    await s.next("agent.response.done");
    const final = await s.next("user.transcript.final");
    expect(final.message.content).toBe("Stop right there.");
    expect(s.events.some((e) => e.type === "avatar.interrupted")).toBe(false);
  });
});

describe("session.update", { timeout: 20_000, retry: 2 }, () => {
  it("changes how the conversation listens, for every socket, and the conversation's record says so", async () => {
    const conv = await createConversation();
    const a = await open(conv.id);
    const b = await open(conv.id);
    a.send({ type: "session.update", event_id: "u1", turn_detection: { silence_ms: 900 }, interruption: { ignore_words: ["sure"] } });
    const updated = await a.next("session.updated");
    expect(updated.reply_to).toBe("u1");
    expect(updated.voice_input).toMatchObject({
      turn_detection: { type: "server_vad", silence_ms: 900, min_interrupt_ms: 400 },
      interruption: { enabled: true, ignore_words: ["sure"] },
    });
    expect((await b.next("session.updated")).voice_input).toEqual(updated.voice_input);
    const got = await (await api(`/v1/conversations/${conv.id}`)).json();
    expect(got).toMatchObject({ turn_detection: { silence_ms: 900 }, interruption: { ignore_words: ["sure"] } });
    // The index (what lists show) learns it too.
    await a.until(() => false, "nothing", 200).catch(() => {});
    const listed = (await (await api("/v1/conversations?limit=100")).json()) as { data: { id: string; turn_detection: { silence_ms: number } }[] };
    expect(listed.data.find((c) => c.id === conv.id)?.turn_detection.silence_ms).toBe(900);
  });

  it("a new input_language brings its backchannels", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    s.send({ type: "session.update", input_language: "de" });
    const updated = await s.next("session.updated");
    expect(updated.voice_input.input_language).toBe("de");
    expect(updated.voice_input.interruption.ignore_words).toContain("genau");
  });

  it("is validated like every frame", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ stt: "nobody:nothing" }, { code: "model.unknown", param: "stt" }],
      [{ stt: "deepgram:nova-3" }, { code: "provider.not_configured", param: "stt" }],
      [{ turn_detection: { silence_ms: 50 } }, { code: "parameter.invalid", param: "turn_detection.silence_ms" }],
      [{ turn_detection: { type: "magic" } }, { code: "parameter.invalid", param: "turn_detection.type" }],
      [{ turn_detection: { patience: 1 } }, { code: "parameter.unknown", param: "turn_detection.patience" }],
      [{ input_audio_format: "mp3" }, { code: "parameter.invalid", param: "input_audio_format" }],
      [{ input_language: "English" }, { code: "parameter.invalid", param: "input_language" }],
    ];
    for (const [fields, expected] of cases) {
      s.send({ type: "session.update", event_id: "bad", ...fields });
      expect(await s.next("error")).toMatchObject({ ...expected, reply_to: "bad" });
    }
    expect(s.events.some((e) => e.type === "session.updated")).toBe(false);
  });

  it("a client secret may send voice, but session.update only when client_permissions grant it", async () => {
    const plain = await createConversation();
    const s = await open(plain.id, { token: plain.client_secret.value });
    s.send({ type: "session.update", event_id: "x", turn_detection: { silence_ms: 900 } });
    expect(await s.next("error")).toMatchObject({ code: "scope.denied", reply_to: "x" });
    await stream(s, concatPcm([speech("Hello there."), silence(800)]));
    expect((await s.next("user.transcript.final")).message.content).toBe("Hello there.");

    const granted = await createConversation({ client_permissions: ["session.update"] });
    const g = await open(granted.id, { token: granted.client_secret.value });
    g.send({ type: "session.update", turn_detection: { silence_ms: 900 } });
    await g.next("session.updated");
  });
});

describe("create", { timeout: 20_000, retry: 2 }, () => {
  const create = (body: Record<string, unknown>) =>
    api("/v1/conversations", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ avatar_id: "av_demo", ...body }) });

  it("takes stt, input_audio_format, input_language, turn_detection and interruption, filling in the rest", async () => {
    const res = await create({
      stt: "mock:default",
      input_audio_format: "pcm_24000",
      input_language: "es",
      turn_detection: { silence_ms: 800, min_interrupt_ms: 300 },
      interruption: { enabled: false },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      input_audio_format: "pcm_24000",
      input_language: "es",
      turn_detection: { type: "server_vad", silence_ms: 800, min_interrupt_ms: 300, threshold: 0.02, prefix_padding_ms: 300 },
      interruption: { enabled: false, ignore_words: expect.arrayContaining(["vale", "claro"]) },
    });
  });

  it("refuses what it cannot use, with the field named", async () => {
    await expectError(await create({ stt: "nobody:nothing" }), 422, { type: "unprocessable", code: "model.unknown", param: "stt" });
    await expectError(await create({ stt: "deepgram:nova-3" }), 503, { type: "service_unavailable", code: "provider.not_configured", param: "stt" });
    await expectError(await create({ turn_detection: { silence_ms: 50 } }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "turn_detection.silence_ms",
    });
    await expectError(await create({ turn_detection: { threshold: 2 } }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "turn_detection.threshold",
    });
    await expectError(await create({ interruption: { ignore_words: "uh-huh" } }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "interruption.ignore_words",
    });
    await expectError(await create({ interruption: { eager: true } }), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "interruption.eager",
    });
    await expectError(await create({ input_audio_format: "pcm_8000" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "input_audio_format",
    });
  });

  it("a persona's stt and language are the defaults of its conversations", async () => {
    const persona = async (fields: Record<string, unknown>) =>
      api("/v1/personas", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Listener", vertical: "support", system_prompt: "Listen.", ...fields }),
      });
    const created = await persona({ stt: "mock:default", language: "fr" });
    expect(created.status).toBe(201);
    const p = (await created.json()) as { id: string; stt: string | null };
    expect(p.stt).toBe("mock:default");
    const conv = await createConversation({ persona_id: p.id });
    expect(conv).toMatchObject({ stt: "mock:default", input_language: "fr", interruption: { ignore_words: expect.arrayContaining(["ouais"]) } });

    await expectError(await persona({ stt: "nobody:nothing" }), 422, { type: "unprocessable", code: "model.unknown", param: "stt" });
    // Known but not configured here: the persona may name it; a conversation cannot use it.
    const deepgram = (await (await persona({ stt: "deepgram:nova-3" })).json()) as { id: string };
    await expectError(await create({ persona_id: deepgram.id }), 503, { type: "service_unavailable", code: "provider.not_configured", param: "persona_id" });
    // The request's own stt wins over the persona's.
    expect((await create({ persona_id: deepgram.id, stt: "mock:default" })).status).toBe(201);
  });

  it("a 24 kHz conversation hears 24 kHz audio", async () => {
    const conv = await createConversation({ input_audio_format: "pcm_24000" });
    const s = await open(conv.id);
    await stream(s, concatPcm([speech("Hello there.", { rate: 24_000 }), silence(800, 24_000)]), { rate: 24_000 });
    expect((await s.next("user.transcript.final")).message.content).toBe("Hello there.");
  });
});

describe("bad audio", { timeout: 20_000, retry: 2 }, () => {
  it("gets an error with a stable code, and the socket stays open", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    s.send(new Uint8Array([1, 2, 3]));
    expect(await s.next("error")).toMatchObject({ code: "format.unsupported" });
    s.send(new Uint8Array(70_000));
    expect(await s.next("error")).toMatchObject({ code: "request.too_large" });
    s.send({ type: "input.audio.append", audio: "not base64!" });
    expect(await s.next("error")).toMatchObject({ code: "parameter.invalid", param: "audio" });
    s.send({ type: "input.audio.commit", event_id: "c" });
    expect(await s.next("error")).toMatchObject({ code: "parameter.invalid", reply_to: "c" });
    s.send({ type: "input.text", text: "Still there?" });
    await s.next("agent.response.done");
  });

  it("audio faster than 1.5× real time beyond a 10 s burst is dropped, with one error", async () => {
    const conv = await createConversation();
    const s = await open(conv.id);
    // 12 s of audio at once.
    const frame = pcm16ToBytes(silence(100));
    for (let i = 0; i < 120; i++) s.send(frame);
    const error = await s.next("error");
    expect(error.code).toBe("rate_limit.exceeded");
    await new Promise((r) => setTimeout(r, 200));
    // Said once per run of refusals, not per dropped frame (a loaded machine reads the frames
    // slowly enough for the budget to refill once or twice in between).
    const errors = s.events.filter((e) => e.type === "error");
    expect(errors.every((e) => e.type === "error" && e.code === "rate_limit.exceeded")).toBe(true);
    expect(errors.length).toBeLessThanOrEqual(3);
  });

  it("audio reaching an ended conversation (a frame in flight at the end) is an error conversation.ended, and nothing is heard", async () => {
    const conv = await createConversation();
    expect((await api(`/v1/conversations/${conv.id}/end`, { method: "POST" })).status).toBe(200);
    const stub = env.CONVERSATION.getByName(conv.id) as DurableObjectStub<Conversation>;
    const answered = await runInDurableObject(stub, async (instance, state) => {
      // A socket of the object's own, as one still open when the conversation ended would be.
      const pair = new WebSocketPair();
      const received: string[] = [];
      const { connection, tags } = newConnection({ credential: "api_key", keyId: null, orgLimit: 60 }, [], Date.now());
      state.acceptWebSocket(pair[1], tags);
      pair[1].serializeAttachment(connection);
      pair[0].accept();
      pair[0].addEventListener("message", (e) => received.push(String(e.data)));
      await instance.webSocketMessage(pair[1], pcm16ToBytes(speech("Hello there.")).buffer as ArrayBuffer);
      for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      return received.map((frame) => JSON.parse(frame) as ServerEvent);
    });
    expect(answered).toHaveLength(1);
    expect(answered[0]).toMatchObject({ type: "error", code: "conversation.ended" });
  });

  it("another org's conversation is 404 for a socket, so for its audio too", async () => {
    const other = await freshOrg("pro");
    const conv = await createConversation({}, other.key);
    const res = await upgrade(conv.id, { key: KEYS.demo });
    await expectError(res, 404, { type: "not_found", code: "conversation.not_found" });
  });
});

describe("usage", { timeout: 20_000, retry: 2 }, () => {
  it("seconds of audio received count as stt_seconds of the org", async () => {
    const org = await freshOrg("pro");
    const conv = await createConversation({ turn_detection: { type: "push_to_talk" } }, org.key);
    const s = await open(conv.id, { key: org.key });
    await stream(s, silence(2500));
    s.send({ type: "session.end" });
    await s.closedBy();
    const row = await env.DB.prepare("SELECT SUM(quantity) AS n FROM usage WHERE org_id = ? AND metric = 'stt_seconds'").bind(org.id).first<{ n: number }>();
    expect(row?.n).toBe(3);
  });
});
