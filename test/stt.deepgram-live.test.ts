import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/lib/errors";
import { providerSocket } from "../src/providers/provider-call";
import { deepgram } from "../src/providers/stt/deepgram";
import { DEEPGRAM_LIVE } from "../src/providers/stt/deepgram-live";
import { liveSession } from "../src/providers/stt/live-session";
import type { SttStreamEvents, SttStreamOptions } from "../src/providers/stt/types";
import { deployment, type FakeSocket, fakeSocketUpstream, jsonResponse, noAnswer, providerContext, sleep, watchLogs } from "./helpers/upstream-harness";

/**
 * Deepgram's live transcription as a conversation's voice uses it, against a fake Deepgram playing
 * its real message sequences over a WebSocket: the upgrade, audio forwarded in order (also what
 * was appended before the socket opened), interim and final text, endpointing, the flush on
 * finish, keep-alives in silence, the close, and every way the upstream can fail.
 */

afterEach(() => vi.restoreAllMocks());

const KEY = "dg-live-secret-0123456789";
const HOST = "fake-deepgram-live.test";
const CONFIG = deployment({ DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: `https://${HOST}`, TTS_FIRST_BYTE_TIMEOUT_MS: "300" });
const OPTIONS: SttStreamOptions = { model: "nova-3", sampleRate: 16_000, language: "en" };

watchLogs([KEY]);

/** Events as a list, and a way to wait for one. */
function recorder() {
  const calls: [string, unknown?][] = [];
  const events: SttStreamEvents = {
    interim: (text) => calls.push(["interim", text]),
    speechStarted: () => calls.push(["speechStarted"]),
    endOfTurn: () => calls.push(["endOfTurn"]),
    error: (error) => calls.push(["error", error]),
  };
  const until = async (name: string, count = 1) => {
    for (let i = 0; i < 300 && calls.filter((c) => c[0] === name).length < count; i++) await sleep(10);
    return calls.filter((c) => c[0] === name);
  };
  return { calls, events, until };
}

const results = (transcript: string, flags: { is_final?: boolean; speech_final?: boolean; from_finalize?: boolean } = {}) =>
  JSON.stringify({
    type: "Results",
    channel_index: [0, 1],
    duration: 0.5,
    start: 0,
    channel: { alternatives: [{ transcript, confidence: 0.9, words: [] }] },
    ...flags,
  });

const frame = (value: number, samples = 320) => new Int16Array(samples).fill(value);
const textFrames = (socket: FakeSocket) => socket.received.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m).type);

async function opened(events: SttStreamEvents, signal?: AbortSignal) {
  const fake = fakeSocketUpstream();
  const session = deepgram.stream(OPTIONS, events, providerContext(CONFIG, signal));
  for (let i = 0; i < 50 && fake.sockets.length === 0; i++) await sleep(5);
  const socket = fake.sockets[0] as FakeSocket;
  return { session, socket, sent: fake.sent };
}

describe("the upgrade and the audio", () => {
  it("opens /v1/listen with linear16 at the rate, interim results, VAD events and endpointing, under the Token key", async () => {
    const r = recorder();
    const { session, sent } = await opened(r.events);
    const url = new URL(sent[0]?.url ?? "");
    expect(url.host).toBe(HOST);
    expect(url.pathname).toBe("/v1/listen");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      model: "nova-3",
      encoding: "linear16",
      sample_rate: "16000",
      channels: "1",
      interim_results: "true",
      vad_events: "true",
      endpointing: "300",
      utterance_end_ms: "1000",
      smart_format: "true",
      language: "en",
    });
    expect(sent[0]?.headers.get("authorization")).toBe(`Token ${KEY}`);
    session.close();
  });

  it("forwards audio as binary frames in order, the audio appended before the socket opened first", async () => {
    const fake = fakeSocketUpstream();
    const r = recorder();
    const session = deepgram.stream(OPTIONS, r.events, providerContext(CONFIG));
    session.append(frame(1));
    session.append(frame(2));
    for (let i = 0; i < 50 && fake.sockets.length === 0; i++) await sleep(5);
    session.append(frame(3));
    const socket = fake.sockets[0] as FakeSocket;
    await socket.receivedCount(3);
    const firsts = socket.received.map((m) => (typeof m === "string" ? m : new Int16Array(m.buffer, m.byteOffset, m.byteLength / 2)[0]));
    expect(firsts).toEqual([1, 2, 3]);
    expect(socket.received.every((m) => typeof m !== "string" && m.byteLength === 640)).toBe(true);
    session.close();
  });
});

describe("an utterance", () => {
  it("interim text as it comes, final segments joined, speech_final as the end of the turn, Finalize flushed on finish", async () => {
    const r = recorder();
    const { session, socket } = await opened(r.events);
    session.append(frame(1000));
    socket.server.send(JSON.stringify({ type: "SpeechStarted", channel: [0], timestamp: 0.2 }));
    socket.server.send(results("what"));
    socket.server.send(results("what time"));
    socket.server.send(results("What time does", { is_final: true }));
    socket.server.send(results("the shop"));
    socket.server.send(results("the shop open?", { is_final: true, speech_final: true }));
    await r.until("endOfTurn");
    expect(r.calls.map((c) => c[0])).toEqual(["speechStarted", "interim", "interim", "interim", "interim", "interim", "endOfTurn"]);
    expect(r.calls.filter((c) => c[0] === "interim").map((c) => c[1])).toEqual([
      "what",
      "what time",
      "What time does",
      "What time does the shop",
      "What time does the shop open?",
    ]);
    // Deepgram ended the turn and no audio came after: the text is whole, nothing to flush.
    expect(await session.finish()).toEqual({ text: "What time does the shop open?", language: null });
    expect(textFrames(socket)).toEqual([]);
    // The next utterance starts from nothing; UtteranceEnd ends it when speech_final never came.
    socket.server.send(results("Next one.", { is_final: true }));
    socket.server.send(JSON.stringify({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.1 }));
    await r.until("endOfTurn", 2);
    expect((await session.finish()).text).toBe("Next one.");
    // Ended by us (our VAD, a commit) with audio still in Deepgram: Finalize, and the flush answers.
    session.append(frame(1000));
    socket.server.send(results("And a third", { is_final: true }));
    await r.until("interim", 7);
    const third = session.finish();
    for (let i = 0; i < 50 && !textFrames(socket).includes("Finalize"); i++) await sleep(5);
    expect(textFrames(socket)).toEqual(["Finalize"]);
    socket.server.send(results("one.", { is_final: true, from_finalize: true }));
    expect((await third).text).toBe("And a third one.");
    session.close();
  });

  it("a flush that never comes: finish resolves with what was heard, within the first-byte wait", async () => {
    const r = recorder();
    const { session, socket } = await opened(r.events);
    socket.server.send(results("Half of it", { is_final: true }));
    await r.until("interim");
    const started = Date.now();
    expect((await session.finish()).text).toBe("Half of it");
    expect(Date.now() - started).toBeLessThan(1000);
    session.close();
  });

  it("clear forgets the utterance: results before the flush are not the next utterance's", async () => {
    const r = recorder();
    const { session, socket } = await opened(r.events);
    socket.server.send(results("forget", { is_final: true }));
    await r.until("interim");
    session.clear();
    socket.server.send(results("forget this", { is_final: true }));
    socket.server.send(results("", { is_final: true, from_finalize: true }));
    socket.server.send(results("Keep this.", { is_final: true }));
    await r.until("interim", 2);
    const finished = session.finish();
    socket.server.send(results("", { is_final: true, from_finalize: true }));
    expect((await finished).text).toBe("Keep this.");
    session.close();
  });
});

describe("silence and the end", () => {
  it("sends KeepAlive while no audio flows, and CloseStream then a normal close on close()", async () => {
    const fake = fakeSocketUpstream();
    const r = recorder();
    const session = liveSession(
      () =>
        providerSocket(
          {
            id: "deepgram",
            name: "Deepgram",
            settings: (c) => c.tts.deepgram,
            waits: () => ({ firstByteTimeoutMs: 300, idleTimeoutMs: Number.POSITIVE_INFINITY }),
            auth: (k) => ({ Authorization: `Token ${k}` }),
          },
          { path: "/v1/listen" },
          providerContext(CONFIG),
        ),
      DEEPGRAM_LIVE,
      r.events,
      providerContext(CONFIG),
      { provider: "deepgram", finishTimeoutMs: 300, keepAliveMs: 60 },
    );
    for (let i = 0; i < 50 && fake.sockets.length === 0; i++) await sleep(5);
    const socket = fake.sockets[0] as FakeSocket;
    await sleep(200);
    expect(textFrames(socket).filter((t) => t === "KeepAlive").length).toBeGreaterThanOrEqual(2);
    session.close();
    expect((await socket.closed).code).toBe(1000);
    expect(textFrames(socket).at(-1)).toBe("CloseStream");
    const count = socket.received.length;
    await sleep(150);
    // No timer left behind: nothing more is sent after the close.
    expect(socket.received.length).toBe(count);
    expect(r.calls.filter((c) => c[0] === "error")).toEqual([]);
  });

  it("the caller's signal closes it", async () => {
    const abort = new AbortController();
    const r = recorder();
    const { socket } = await opened(r.events, abort.signal);
    abort.abort();
    expect((await socket.closed).code).toBe(1000);
  });
});

describe("failures", () => {
  it("the upstream dropping mid-utterance: one typed error, finish rejects, later audio ignored", async () => {
    const r = recorder();
    const { session, socket } = await opened(r.events);
    session.append(frame(1));
    socket.server.send(results("What time", { is_final: true }));
    await r.until("interim");
    // Its outcome taken at once, as the conversation does (a rejection nobody has heard yet is an error of the test).
    const finished = session.finish().then(
      () => "resolved",
      (e: unknown) => e,
    );
    socket.server.close(1011, `internal error for ${KEY}`);
    const [[, error]] = (await r.until("error")) as [[string, ApiError]];
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("provider.unavailable");
    expect(error.message).not.toContain(KEY);
    expect(await finished).toBe(error);
    session.append(frame(2));
    await sleep(20);
    expect(r.calls.filter((c) => c[0] === "error")).toHaveLength(1);
  });

  it("a close with 4429 is provider.rate_limited", async () => {
    const r = recorder();
    const { socket } = await opened(r.events);
    socket.server.close(4429, "slow down");
    const [[, error]] = (await r.until("error")) as [[string, ApiError]];
    expect(error.code).toBe("provider.rate_limited");
  });

  it("a refused upgrade (401) is a typed error without the key", async () => {
    fakeSocketUpstream(() => jsonResponse({ err_code: "INVALID_AUTH", err_msg: `Bad key ${KEY}` }, 401));
    const r = recorder();
    const session = deepgram.stream(OPTIONS, r.events, providerContext(CONFIG));
    const [[, error]] = (await r.until("error")) as [[string, ApiError]];
    expect(error.code).toBe("provider.unavailable");
    expect(JSON.stringify({ message: error.message })).not.toContain(KEY);
    await expect(session.finish()).rejects.toBe(error);
  });

  it("an upgrade never answered is provider.timeout within the first-byte wait", async () => {
    fakeSocketUpstream(noAnswer);
    const r = recorder();
    deepgram.stream(OPTIONS, r.events, providerContext(CONFIG));
    const started = Date.now();
    const [[, error]] = (await r.until("error")) as [[string, ApiError]];
    expect(error.code).toBe("provider.timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
