import { afterEach, describe, expect, it, vi } from "vitest";
import { sleep } from "../helpers/upstream-harness";
import { concatPcm, silence, stream, tone } from "../helpers/voice";
import { closeTalks, talk } from "./fakes";

/**
 * A conversation's voice through Deepgram's live socket, against a fake Deepgram that plays its
 * real message sequences: the provider's endpointing ends the user's turn, a dropped upstream is a
 * typed error on the socket and the conversation goes on, and after voice goes idle no outbound
 * socket stays open (so the object can hibernate). The project's settings point Deepgram at the
 * fake host and close an idle session after 1.5 s (vitest.config.ts).
 */

afterEach(() => {
  closeTalks();
  vi.restoreAllMocks();
});

const STT = { stt: "deepgram:nova-3", model: "mock:echo", voice_id: "mock:warm" };
/** A microphone's 20 ms frames: the fake counts them (the text is the fake's, so order does not matter here). */
const MIC = { frameMs: 20, speedup: 1.4 };
const results = (transcript: string, flags: Record<string, boolean> = {}) =>
  JSON.stringify({
    type: "Results",
    channel_index: [0, 1],
    duration: 0.5,
    start: 0,
    channel: { alternatives: [{ transcript, confidence: 0.9, words: [] }] },
    ...flags,
  });

/** What Deepgram does on its side of one socket, decided as each message arrives. */
interface Script {
  /** After the n-th audio frame (1-based): messages to send, or a close code. */
  onAudio?: (n: number) => string[] | { close: number } | undefined;
}

/** One upstream socket as the test sees it afterwards (plain data: the socket itself belongs to the object). */
interface Upstream {
  url: string;
  audioFrames: number;
  texts: string[];
  closed: { code: number; reason: string } | null;
}

/**
 * A fake Deepgram driven from inside the object: the upstream's end of each socket lives in the
 * Durable Object that opened it (the runtime refuses I/O on it from the test), so it answers as
 * messages come: `Finalize` with the flush, audio frames as the script says.
 */
function fakeDeepgram(scripts: Script[]): Upstream[] {
  const upstreams: Upstream[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    const script = scripts[upstreams.length] ?? {};
    const upstream: Upstream = { url, audioFrames: 0, texts: [], closed: null };
    upstreams.push(upstream);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.accept();
    server.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        const type = (JSON.parse(event.data) as { type: string }).type;
        upstream.texts.push(type);
        if (type === "Finalize") server.send(results("", { is_final: true, from_finalize: true }));
        return;
      }
      upstream.audioFrames += 1;
      const action = script.onAudio?.(upstream.audioFrames);
      if (Array.isArray(action)) for (const message of action) server.send(message);
      else if (action) server.close(action.close, "scripted");
    });
    server.addEventListener("close", (event) => {
      upstream.closed = { code: event.code, reason: event.reason };
    });
    return new Response(null, { status: 101, webSocket: client });
  });
  return upstreams;
}

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("voice through Deepgram live", { timeout: 20_000 }, () => {
  it("Deepgram's speech_final ends the turn (reason provider) before the silence would, with Deepgram's text", async () => {
    const upstreams = fakeDeepgram([
      {
        onAudio: (n) =>
          n === 8
            ? [
                JSON.stringify({ type: "SpeechStarted", channel: [0], timestamp: 0.1 }),
                results("what time"),
                results("What time does the shop open?", { is_final: true, speech_final: true }),
              ]
            : undefined,
      },
    ]);
    const { socket } = await talk(STT);
    const sending = stream(socket, concatPcm([tone(600, 0.3), silence(1200)]), MIC);
    const ended = await socket.next("user.turn.ended");
    expect(ended.reason).toBe("provider");
    expect(ended.silence_ms).toBeLessThan(600);
    expect(new URL(upstreams[0]?.url ?? "").searchParams.get("model")).toBe("nova-3");
    expect(socket.events.find((e) => e.type === "user.transcript.delta")).toMatchObject({ text: "what time" });
    const final = await socket.next("user.transcript.final");
    expect(final.message.content).toBe("What time does the shop open?");
    // Deepgram ended the turn itself: no Finalize was needed for the text.
    expect(upstreams[0]?.texts).not.toContain("Finalize");
    await socket.next("agent.response.done");
    await sending;
  });

  it("an upstream dropped mid-utterance is a typed error on the socket; typing still works, and the next speech opens a new socket", async () => {
    const upstreams = fakeDeepgram([
      { onAudio: (n) => (n === 5 ? { close: 1011 } : undefined) },
      { onAudio: (n) => (n === 5 ? [results("Yes I am.", { is_final: true })] : undefined) },
    ]);
    const { socket } = await talk(STT);
    const sending = stream(socket, concatPcm([tone(500, 0.3), silence(700)]), MIC);
    const error = await socket.next("error");
    expect(error.code).toBe("provider.unavailable");
    expect(error.message).toMatch(/deepgram/i);
    await sending;
    expect(socket.events.some((e) => e.type === "user.transcript.final")).toBe(false);
    // The conversation is still usable...
    socket.send({ type: "input.text", text: "Are you there?" });
    await socket.next("agent.response.done");
    // ...and so is voice: a new upstream socket for the next speech.
    await stream(socket, concatPcm([tone(500, 0.3), silence(1200)]), MIC);
    const final = await socket.next("user.transcript.final");
    expect(final.message.content).toBe("Yes I am.");
    expect(upstreams).toHaveLength(2);
  });

  it("after voice goes idle, the upstream socket is closed (CloseStream, then 1000): nothing keeps the object awake", async () => {
    const upstreams = fakeDeepgram([{ onAudio: (n) => (n === 5 ? [results("Hello.", { is_final: true })] : undefined) }]);
    const { socket } = await talk(STT);
    await stream(socket, concatPcm([tone(400, 0.3), silence(700)]), MIC);
    await socket.next("user.transcript.final");
    expect(upstreams[0]?.closed).toBeNull();
    // VOICE_STT_IDLE_MS is 1.5 s here.
    const closed = await until(() => upstreams[0]?.closed ?? undefined, "the upstream socket's close", 4000);
    expect(closed.code).toBe(1000);
    expect(upstreams[0]?.texts.at(-1)).toBe("CloseStream");
  });
});
