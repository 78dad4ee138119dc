import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config";
import { ApiError } from "../../src/lib/errors";
import { createLogger } from "../../src/lib/logger";
import type { ProviderContext } from "../../src/providers/context";
import { bufferedStream, INTERIM_EVERY_MS, MAX_BUFFER_MS } from "../../src/providers/stt/buffered";
import { mock, upToLastGap } from "../../src/providers/stt/mock";
import type { SttStreamEvents, TranscriptionRequest } from "../../src/providers/stt/types";
import { Resampler } from "../../src/providers/tts/audio";
import { MOCK_SAMPLE_RATE, mockVoice, synthesize } from "../../src/providers/tts/mock-speech";
import { bytesToPcm16, pcm16ToBytes } from "../../src/providers/tts/wav";
import { CallerGone } from "../../src/providers/upstream";

/**
 * Streaming sessions for providers that transcribe whole audio: the buffer, its cap, clear, close
 * and failures; and the mock's, whose interim text is read from the audio as it is spoken (what
 * barge-in needs) and whose final text is exact.
 */

const RATE = 16_000;
const ctxOf = (signal = new AbortController().signal): ProviderContext => ({ signal, config: {} as Config, log: createLogger() });

function recorder() {
  const interims: string[] = [];
  const errors: unknown[] = [];
  const events: SttStreamEvents = { interim: (t) => interims.push(t), speechStarted: () => {}, endOfTurn: () => {}, error: (e) => errors.push(e) };
  return { interims, errors, events };
}

function fakeTranscribe(answer: (r: TranscriptionRequest) => string | Error = () => "ok") {
  const calls: TranscriptionRequest[] = [];
  const transcribe = async (request: TranscriptionRequest) => {
    calls.push(request);
    const text = answer(request);
    if (text instanceof Error) throw text;
    return { text, language: null };
  };
  return { calls, transcribe };
}

describe("bufferedStream", () => {
  it("transcribes the utterance once, on finish, with all its audio in order and the options' model and language", async () => {
    const t = fakeTranscribe();
    const s = bufferedStream(t.transcribe, { model: "m", language: "fr", sampleRate: RATE }, recorder().events, ctxOf());
    s.append(Int16Array.of(1, 2));
    s.append(Int16Array.of(3));
    expect(t.calls).toHaveLength(0);
    expect(await s.finish()).toEqual({ text: "ok", language: null });
    expect(t.calls).toHaveLength(1);
    expect(Array.from(t.calls[0]?.audio.samples ?? [])).toEqual([1, 2, 3]);
    expect(t.calls[0]).toMatchObject({ model: "m", language: "fr", audio: { sampleRate: RATE } });
    // The next utterance starts empty: nothing to transcribe is no request.
    expect(await s.finish()).toEqual({ text: "", language: null });
    expect(t.calls).toHaveLength(1);
  });

  it("clear forgets; close ends it (appends ignored, finish rejects as the caller gone); an abort closes it", async () => {
    const t = fakeTranscribe();
    const s = bufferedStream(t.transcribe, { model: "m", sampleRate: RATE }, recorder().events, ctxOf());
    s.append(Int16Array.of(1));
    s.clear();
    expect((await s.finish()).text).toBe("");
    s.close();
    s.append(Int16Array.of(2));
    await expect(s.finish()).rejects.toBeInstanceOf(CallerGone);
    const abort = new AbortController();
    const aborted = bufferedStream(t.transcribe, { model: "m", sampleRate: RATE }, recorder().events, ctxOf(abort.signal));
    aborted.append(Int16Array.of(1));
    abort.abort();
    await expect(aborted.finish()).rejects.toBeInstanceOf(CallerGone);
    expect(t.calls).toHaveLength(0);
  });

  it(`keeps at most ${MAX_BUFFER_MS / 1000} s of an utterance`, async () => {
    const t = fakeTranscribe();
    const s = bufferedStream(t.transcribe, { model: "m", sampleRate: RATE }, recorder().events, ctxOf());
    const second = new Int16Array(RATE);
    for (let i = 0; i < MAX_BUFFER_MS / 1000 + 5; i++) s.append(second);
    await s.finish();
    expect(t.calls[0]?.audio.samples.length).toBe((MAX_BUFFER_MS / 1000) * RATE);
  });

  it("a failing request rejects that finish with its typed error; the session goes on (no error event)", async () => {
    let fail = true;
    const t = fakeTranscribe(() => (fail ? new ApiError("provider.timeout", "slow") : "second"));
    const r = recorder();
    const s = bufferedStream(t.transcribe, { model: "m", sampleRate: RATE }, r.events, ctxOf());
    s.append(Int16Array.of(1));
    await expect(s.finish()).rejects.toMatchObject({ code: "provider.timeout" });
    fail = false;
    s.append(Int16Array.of(1));
    expect((await s.finish()).text).toBe("second");
    expect(r.errors).toEqual([]);
  });

  it(`reads interim text every ${INTERIM_EVERY_MS} ms of new audio, telling only changes`, () => {
    const seen: number[] = [];
    const r = recorder();
    const s = bufferedStream(fakeTranscribe().transcribe, { model: "m", sampleRate: RATE }, r.events, ctxOf(), () => (audio) => {
      seen.push(audio.samples.length);
      return seen.length < 3 ? "same" : "new";
    });
    const frame = new Int16Array(RATE / 50);
    for (let i = 0; i < 50; i++) s.append(frame);
    expect(seen).toEqual([0.2, 0.4, 0.6, 0.8, 1].map((sec) => sec * RATE));
    expect(r.interims).toEqual(["same", "new"]);
  });
});

/** `text` in the mock voice, resampled to 16 kHz. */
function speech(text: string): Int16Array {
  const parts: Uint8Array[] = [];
  const resampler = new Resampler(MOCK_SAMPLE_RATE, RATE);
  for (const chunk of synthesize(text, mockVoice("warm") as NonNullable<ReturnType<typeof mockVoice>>)) parts.push(resampler.push(pcm16ToBytes(chunk.pcm)));
  parts.push(resampler.flush());
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytesToPcm16(bytes);
}

function feed(audio: Int16Array, append: (s: Int16Array) => void) {
  for (let at = 0; at < audio.length; at += 320) append(audio.slice(at, at + 320));
}

describe("the mock's stream", () => {
  it("interim text grows as the sentence is spoken, always a prefix of it; the final text is exact", async () => {
    const sentence = "What time does the shop open?";
    const r = recorder();
    const s = mock.stream({ model: "default", sampleRate: RATE }, r.events, ctxOf());
    feed(speech(sentence), (f) => s.append(f));
    expect(r.interims.length).toBeGreaterThan(5);
    for (const text of r.interims) expect(sentence.startsWith(text)).toBe(true);
    expect(r.interims.map((t) => t.length)).toEqual([...r.interims.map((t) => t.length)].sort((a, b) => a - b));
    expect((await s.finish()).text).toBe(sentence);
  });

  it("a second utterance is read from its own start (each utterance gets a fresh reader)", async () => {
    const r = recorder();
    const s = mock.stream({ model: "default", sampleRate: RATE }, r.events, ctxOf());
    feed(speech("First, a long one. With two sentences."), (f) => s.append(f));
    expect((await s.finish()).text).toBe("First, a long one. With two sentences.");
    const from = r.interims.length;
    feed(speech("Then this."), (f) => s.append(f));
    for (const text of r.interims.slice(from)) expect("Then this.".startsWith(text)).toBe(true);
    expect((await s.finish()).text).toBe("Then this.");
  });

  it("'uh-huh' is read as such while it is said", () => {
    const r = recorder();
    const s = mock.stream({ model: "default", sampleRate: RATE }, r.events, ctxOf());
    feed(speech("uh-huh"), (f) => s.append(f));
    expect(r.interims.at(-1)).toMatch(/^uh-hu/);
  });

  it("a sound that is not the mock voice: no interim text, a placeholder with its length at the end", async () => {
    const r = recorder();
    const s = mock.stream({ model: "default", sampleRate: RATE }, r.events, ctxOf());
    const hum = new Int16Array(RATE);
    for (let i = 0; i < hum.length; i++) hum[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / RATE) * 8000);
    feed(hum, (f) => s.append(f));
    expect(r.interims).toEqual([]);
    expect((await s.finish()).text).toBe("[unrecognised audio, 1.0 s]");
  });

  it("upToLastGap cuts the audio at its last silence between characters", () => {
    const audio = new Int16Array(1000).fill(5000);
    audio.fill(0, 400, 500);
    expect(upToLastGap({ samples: audio, sampleRate: RATE }).samples.length).toBeGreaterThanOrEqual(448);
    expect(upToLastGap({ samples: audio, sampleRate: RATE }).samples.length).toBeLessThanOrEqual(500);
    expect(upToLastGap({ samples: new Int16Array(640).fill(5000), sampleRate: RATE }).samples.length).toBe(0);
  });
});
