import { describe, expect, it } from "vitest";
import { EnergyVad, RUN_GAP_MS, type VadEvent } from "../../src/durable-objects/conversation/vad";
import { mockVoice, synthesize } from "../../src/providers/tts/mock-speech";

/**
 * The energy VAD on synthetic audio: silence, steady noise below the threshold, bursts above it,
 * the mock voice's own speech; the same events whatever the frame size; the run of voice that
 * barge-in measures.
 */

const RATE = 16_000;
const SETTINGS = { threshold: 0.02, silenceMs: 600 };

const quiet = (ms: number) => new Int16Array((ms * RATE) / 1000);
const tone = (ms: number, amplitude: number) => {
  const out = new Int16Array((ms * RATE) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / RATE) * amplitude * 32767);
  return out;
};
/** Deterministic noise (a linear congruential generator), uniform in ±amplitude. */
const noise = (ms: number, amplitude: number) => {
  const out = new Int16Array((ms * RATE) / 1000);
  let x = 12345;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = Math.round(((x / 2 ** 32) * 2 - 1) * amplitude * 32767);
  }
  return out;
};
const concat = (...parts: Int16Array[]) => {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The mock voice saying `text`, at 24 kHz taken down to 16 kHz by dropping every third sample (enough for energy). */
function mockSpeech(text: string): Int16Array {
  const parts: Int16Array[] = [];
  for (const chunk of synthesize(
    text,
    mockVoice("warm") ??
      (() => {
        throw new Error("no voice");
      })(),
  ))
    parts.push(chunk.pcm);
  const at24 = concat(...parts);
  const out = new Int16Array(Math.floor((at24.length * 2) / 3));
  for (let i = 0; i < out.length; i++) out[i] = at24[Math.floor((i * 3) / 2)] as number;
  return out;
}

function run(audio: Int16Array, frameMs = 20, settings = SETTINGS): { events: VadEvent[]; vad: EnergyVad; runs: number[] } {
  const vad = new EnergyVad(settings, RATE);
  const size = (frameMs * RATE) / 1000;
  const events: VadEvent[] = [];
  const runs: number[] = [];
  for (let at = 0; at < audio.length; at += size) {
    events.push(...vad.push(audio.subarray(at, at + size)));
    runs.push(vad.runMs);
  }
  return { events, vad, runs };
}

describe("what is voice", () => {
  it("silence: nothing", () => {
    expect(run(quiet(3000)).events).toEqual([]);
  });

  it("steady noise below the threshold: nothing", () => {
    // Uniform noise of amplitude a has an RMS of a/√3: 0.03 → 0.017, below 0.02.
    expect(run(noise(3000, 0.03)).events).toEqual([]);
  });

  it("a burst above it: started at its first window, stopped after exactly silence_ms of silence", () => {
    const { events } = run(concat(quiet(500), tone(800, 0.3), quiet(1000)));
    expect(events).toEqual([
      { type: "speech_started", atMs: 500 },
      { type: "speech_stopped", atMs: 1900, lastVoicedMs: 1300, silenceMs: 600 },
    ]);
  });

  it("a click of one window does not start speech", () => {
    expect(run(concat(quiet(300), tone(10, 0.5), quiet(1000))).events).toEqual([]);
  });

  it("noise above the threshold is voice to an energy VAD (what a threshold is for)", () => {
    expect(run(concat(noise(500, 0.2), quiet(700))).events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped"]);
  });

  it("the mock voice's two sentences are one utterance: the pauses between words and sentences are bridged", () => {
    const audio = concat(quiet(200), mockSpeech("Hello there, how are you? I am fine, thank you."), quiet(800));
    const { events } = run(audio);
    expect(events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped"]);
    expect((events[1] as Extract<VadEvent, { type: "speech_stopped" }>).silenceMs).toBe(600);
  });

  it("the same events whatever the frame size (20, 37 or 100 ms)", () => {
    const audio = concat(quiet(250), tone(700, 0.3), quiet(300), tone(300, 0.3), quiet(900));
    const reference = run(audio, 20).events;
    expect(run(audio, 37).events).toEqual(reference);
    expect(run(audio, 100).events).toEqual(reference);
  });
});

describe("the run of voice (barge-in)", () => {
  it("grows with continuous speech, bridging the gaps between the mock voice's characters", () => {
    const { runs } = run(mockSpeech("Stop right there."));
    const longest = Math.max(...runs);
    expect(longest).toBeGreaterThan(1000);
  });

  it("a 100 ms burst is at most ~100 ms, however long the silence after it", () => {
    const { runs } = run(concat(tone(100, 0.3), quiet(500)));
    expect(Math.max(...runs)).toBeLessThanOrEqual(110);
  });

  it(`starts again after a pause of ${RUN_GAP_MS} ms or more`, () => {
    const { runs } = run(concat(tone(300, 0.3), quiet(RUN_GAP_MS + 50), tone(100, 0.3)));
    expect(runs.at(-1)).toBeLessThanOrEqual(110);
  });
});

describe("settings", () => {
  it("update() changes the threshold from the next window", () => {
    const vad = new EnergyVad(SETTINGS, RATE);
    const loudish = noise(500, 0.06); // RMS ≈ 0.035
    expect(vad.push(loudish).map((e) => e.type)).toEqual(["speech_started"]);
    vad.reset();
    vad.update({ threshold: 0.05, silenceMs: 600 });
    expect(vad.push(loudish)).toEqual([]);
    expect(vad.speaking).toBe(false);
  });

  it("reset() forgets the speech; the clock goes on", () => {
    const vad = new EnergyVad(SETTINGS, RATE);
    vad.push(tone(200, 0.3));
    expect(vad.speaking).toBe(true);
    vad.reset();
    expect(vad.speaking).toBe(false);
    expect(vad.runMs).toBe(0);
    expect(vad.nowMs).toBe(200);
  });
});
