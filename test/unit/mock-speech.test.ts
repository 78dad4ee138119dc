import { describe, expect, it } from "vitest";
import {
  type Alignment,
  decodeSpeech,
  MOCK_SAMPLE_RATE,
  MOCK_VOICES,
  type MockVoice,
  mockVoice,
  planSpeech,
  type SpeechChunk,
  synthesize,
} from "../../src/providers/tts/mock-speech";
import { bytesToPcm16, parseWav, pcm16ToBytes, wavHeader } from "../../src/providers/tts/wav";

const SENTENCE = "Hello, world! How are you today? I'm fine: thanks; really.";
const MIXED = 'Order #42 ships at 9:30 (ETA 3-5 days) to "Suite 12B" - OK? Yes!';
const UNICODE = "Crème brûlée, naïve café — 東京 😀 ß!";
const PARAGRAPH = (
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore " +
  "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut " +
  "aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum."
).slice(0, 300);

function voice(id: string): MockVoice {
  const v = mockVoice(id);
  if (!v) throw new Error(`no mock voice ${id}`);
  return v;
}
const WARM = voice("warm");

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function chunksOf(text: string, v: MockVoice, opts: { speed?: number; chunkMs?: number } = {}): SpeechChunk[] {
  return [...synthesize(text, v, opts)];
}

function speak(text: string, v: MockVoice = WARM, opts: { speed?: number; chunkMs?: number } = {}): Int16Array {
  return concat(chunksOf(text, v, opts).map((c) => c.pcm));
}

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i] ?? 0) ** 2;
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

function peak(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] ?? 0));
  return m;
}

/** Power of one frequency over x[from..to), by Goertzel. */
function power(x: ArrayLike<number>, rate: number, hz: number, from = 0, to = x.length): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = (x[i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** The strongest frequency in the voice band (60-400 Hz, 1 Hz steps): the buzz's fundamental. */
function dominantPitch(x: ArrayLike<number>, from = 0, to = x.length): number {
  let best = 0;
  let bestPower = -1;
  for (let hz = 60; hz <= 400; hz++) {
    const p = power(x, MOCK_SAMPLE_RATE, hz, from, to);
    if (p > bestPower) [best, bestPower] = [hz, p];
  }
  return best;
}

/** Naive resampler: linear interpolation between neighbouring input samples, no anti-alias filter. */
function resampleLinear(x: Int16Array, from: number, to: number): Float32Array {
  const step = from / to;
  const out = new Float32Array(Math.floor((x.length - 1) / step) + 1);
  for (let i = 0; i < out.length; i++) {
    const t = i * step;
    const k = Math.floor(t);
    const f = t - k;
    out[i] = (x[k] ?? 0) * (1 - f) + (x[k + 1] ?? 0) * f;
  }
  return out;
}

/**
 * Band-limited resampler: a Blackman-windowed sinc low-pass at 90% of the output Nyquist, 16 input
 * samples each side. Kernels are cached per fractional position (24 -> 16 kHz has only two).
 */
function resampleSinc(x: Int16Array, from: number, to: number): Float32Array {
  const halfWidth = 16;
  const cutoff = (0.45 * to) / from; // cycles per input sample
  const step = from / to;
  const kernels = new Map<number, Float64Array>();
  const kernel = (frac: number) => {
    let k = kernels.get(frac);
    if (!k) {
      k = new Float64Array(2 * halfWidth + 1);
      for (let j = 0; j < k.length; j++) {
        const d = frac + halfWidth - j; // distance from the output instant to input sample floor(t) - halfWidth + j
        const sinc = d === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * d) / (Math.PI * d);
        const window = Math.abs(d) >= halfWidth ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * d) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * d) / halfWidth);
        k[j] = sinc * window;
      }
      kernels.set(frac, k);
    }
    return k;
  };
  const out = new Float32Array(Math.floor(x.length / step));
  for (let i = 0; i < out.length; i++) {
    const t = i * step;
    const base = Math.floor(t);
    const k = kernel(t - base);
    let acc = 0;
    for (let j = 0; j < k.length; j++) acc += (x[base - halfWidth + j] ?? 0) * (k[j] ?? 0);
    out[i] = acc;
  }
  return out;
}

/** [start, end) sample ranges of sound, split on runs of exact digital silence of at least `minGap` samples. */
function soundRuns(x: Int16Array, minGap = 48): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  let lastLoud = -1;
  for (let i = 0; i < x.length; i++) {
    if ((x[i] ?? 0) === 0) continue;
    if (start < 0) start = i;
    else if (i - lastLoud > minGap) {
      runs.push([start, lastLoud + 1]);
      start = i;
    }
    lastLoud = i;
  }
  if (start >= 0) runs.push([start, lastLoud + 1]);
  return runs;
}

/** Index of the first sample where a and b differ (a length mismatch counts), or -1. Far faster than toEqual on big arrays. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const normalized = (text: string) => text.replace(/\s+/gu, " ").trim();

describe("mock voices", () => {
  it("has warm, bright and deep with distinct pitch and pace; unknown ids are undefined", () => {
    expect(MOCK_VOICES.map((v) => v.id)).toEqual(expect.arrayContaining(["warm", "bright", "deep"]));
    expect(mockVoice("bright")?.name).toBe("Bright");
    expect(mockVoice("nope")).toBeUndefined();
    expect(new Set(MOCK_VOICES.map((v) => v.f0Hz)).size).toBe(MOCK_VOICES.length);
    expect(new Set(MOCK_VOICES.map((v) => v.msPerChar)).size).toBe(MOCK_VOICES.length);
    for (const v of MOCK_VOICES) {
      expect(v.f0Hz).toBeGreaterThanOrEqual(90);
      expect(v.f0Hz).toBeLessThanOrEqual(260);
    }
  });

  it("empty and whitespace-only text give no chunks and no samples", () => {
    for (const text of ["", "   ", "\n\t "]) {
      expect(chunksOf(text, WARM)).toEqual([]);
      const plan = planSpeech(text, WARM);
      expect(plan.totalSamples).toBe(0);
      expect(plan.durationMs).toBe(0);
      expect(plan.alignment.chars.join("")).toBe(text);
      expect(plan.alignment.duration_ms.every((d) => d === 0)).toBe(true);
    }
    expect(decodeSpeech(new Int16Array(0), MOCK_SAMPLE_RATE)).toBe("");
    expect(decodeSpeech(new Int16Array(4800), MOCK_SAMPLE_RATE)).toBe("");
  });
});

describe("WAV container", () => {
  it("a synthesized utterance round-trips through wavHeader + pcm16ToBytes + parseWav", () => {
    const samples = speak(SENTENCE);
    const data = pcm16ToBytes(samples);
    const header = wavHeader({ sampleRate: MOCK_SAMPLE_RATE, dataBytes: data.length });
    expect(header.length).toBe(44);
    const file = new Uint8Array(header.length + data.length);
    file.set(header);
    file.set(data, header.length);

    const ascii = (from: number) => String.fromCharCode(...file.subarray(from, from + 4));
    const view = new DataView(file.buffer);
    expect([ascii(0), ascii(8), ascii(12), ascii(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"]);
    expect(view.getUint32(4, true)).toBe(36 + data.length);
    expect(view.getUint32(28, true)).toBe(MOCK_SAMPLE_RATE * 2); // byte rate
    expect(view.getUint16(32, true)).toBe(2); // block align

    const wav = parseWav(file);
    expect(wav).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16, dataOffset: 44, dataBytes: samples.length * 2 });
    expect(firstDifference(wav.samples, samples)).toBe(-1);
    expect(decodeSpeech(wav.samples, wav.sampleRate)).toBe(SENTENCE);
  });

  it("a streaming header (unknown length) writes 0xFFFFFFFF sizes and parses up to the bytes present", () => {
    const samples = speak("Streaming.");
    const header = wavHeader({ sampleRate: MOCK_SAMPLE_RATE });
    const view = new DataView(header.buffer);
    expect(view.getUint32(4, true)).toBe(0xffffffff);
    expect(view.getUint32(40, true)).toBe(0xffffffff);
    const data = pcm16ToBytes(samples);
    const file = new Uint8Array([...header, ...data, 0x7f]); // a half sample at the end is dropped
    const wav = parseWav(file);
    expect(wav.dataBytes).toBe(data.length);
    expect(firstDifference(wav.samples, samples)).toBe(-1);
  });

  it("skips unknown chunks (LIST, odd-sized with its pad byte) and reads stereo", () => {
    const list = [..."LIST"].map((c) => c.charCodeAt(0)).concat([5, 0, 0, 0, 1, 2, 3, 4, 5, 0]);
    const header = wavHeader({ sampleRate: 16000, channels: 2, dataBytes: 8 });
    const data = pcm16ToBytes(Int16Array.from([1, -1, 300, -300]));
    const file = new Uint8Array([...header.subarray(0, 36), ...list, ...header.subarray(36), ...data]);
    const wav = parseWav(file);
    expect(wav).toMatchObject({ sampleRate: 16000, channels: 2, bitsPerSample: 16, dataOffset: 44 + list.length, dataBytes: 8 });
    expect([...wav.samples]).toEqual([1, -1, 300, -300]);
  });

  it("rejects what is not 16-bit PCM RIFF/WAVE", () => {
    const good = new Uint8Array([...wavHeader({ sampleRate: 8000, dataBytes: 2 }), 0, 0]);
    const patched = (offset: number, value: number) => {
      const copy = good.slice();
      new DataView(copy.buffer).setUint16(offset, value, true);
      return copy;
    };
    expect(() => parseWav(new TextEncoder().encode("ID3 not a wav file at all"))).toThrow(/RIFF\/WAVE/);
    expect(() => parseWav(patched(20, 3))).toThrow(/16-bit PCM/); // IEEE float
    expect(() => parseWav(patched(34, 8))).toThrow(/16-bit PCM/); // 8-bit
    expect(() => parseWav(good.subarray(0, 36))).toThrow(/no data chunk/);
    expect(() => parseWav(patched(24, 0))).toThrow(/zero sample rate/); // 8000 Hz fits in the low 16 bits
    expect(() => wavHeader({ sampleRate: 24000.5 })).toThrow(RangeError);
    expect(() => wavHeader({ sampleRate: 24000, bitsPerSample: 12 })).toThrow(RangeError);
  });

  it("PCM16 bytes are little-endian; a trailing odd byte and odd offsets are handled", () => {
    expect([...pcm16ToBytes(Int16Array.from([1, -2, 0x1234, -32768]))]).toEqual([1, 0, 0xfe, 0xff, 0x34, 0x12, 0x00, 0x80]);
    const bytes = new Uint8Array([9, 0x34, 0x12, 0xfe, 0xff, 0x01]);
    expect([...bytesToPcm16(bytes.subarray(1))]).toEqual([0x1234, -2]);
  });
});

describe("sound", () => {
  const samples = speak(PARAGRAPH);
  const frame = 20 * (MOCK_SAMPLE_RATE / 1000);
  const frames = Array.from({ length: Math.floor(samples.length / frame) }, (_, i) => rms(samples, i * frame, (i + 1) * frame));
  const loudest = Math.max(...frames);

  it("is audible and peaks between -6 and -3 dBFS without clipping", () => {
    expect(rms(samples)).toBeGreaterThan(0.05 * 32768);
    const peakDb = 20 * Math.log10(peak(samples) / 32768);
    expect(peakDb).toBeGreaterThan(-6);
    expect(peakDb).toBeLessThan(-3);
    for (const v of MOCK_VOICES) {
      const p = peak(speak(`${SENTENCE} ${PARAGRAPH}`, v, { speed: 0.5 }));
      expect(p).toBeLessThan(32767 * 0.8);
    }
  });

  it("loudness moves frame to frame: bursts, near-silent gaps and pauses", () => {
    const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
    const sd = Math.sqrt(frames.reduce((a, b) => a + (b - mean) ** 2, 0) / frames.length);
    expect(sd / mean).toBeGreaterThan(0.4);
    expect(frames.filter((f) => f < 0.01 * loudest).length / frames.length).toBeGreaterThan(0.1);
    expect(frames.filter((f) => f > 0.5 * loudest).length / frames.length).toBeGreaterThan(0.15);
  });

  it("each burst fades in and out (no clicks) and bursts differ in loudness (stress)", () => {
    const runs = soundRuns(samples);
    expect(runs.length).toBeGreaterThan(200);
    const edge = 12; // 0.5 ms
    const peaks = runs.map(([a, b]) => peak(samples.subarray(a, b)));
    runs.forEach(([a, b], i) => {
      const p = peaks[i] ?? 0;
      expect(peak(samples.subarray(a, a + edge))).toBeLessThan(0.1 * p);
      expect(peak(samples.subarray(b - edge, b))).toBeLessThan(0.1 * p);
    });
    const sorted = [...peaks].sort((a, b) => a - b);
    expect((sorted[Math.floor(sorted.length * 0.9)] ?? 0) / (sorted[Math.floor(sorted.length * 0.1)] ?? 1)).toBeGreaterThan(1.3);
  });

  it("voices differ in pitch (the buzz fundamental sits near each voice's f0)", () => {
    const text = "Aaa eee ooo, you are a really good listener.";
    const pitches = MOCK_VOICES.map((v) => dominantPitch(speak(text, v)));
    MOCK_VOICES.forEach((v, i) => {
      expect(pitches[i]).toBeGreaterThan(v.f0Hz * 0.85);
      expect(pitches[i]).toBeLessThan(v.f0Hz * 1.2);
    });
    const [deep, warm, bright] = ["deep", "warm", "bright"].map((id) => pitches[MOCK_VOICES.findIndex((v) => v.id === id)] ?? 0);
    expect(warm).toBeGreaterThan((deep ?? 0) * 1.2);
    expect(bright).toBeGreaterThan((warm ?? 0) * 1.2);
  });

  it("pitch declines over a statement and rises at the end of a question", () => {
    const statement = speak("We will certainly go to the old harbour market tomorrow morning.");
    const quarter = Math.floor(statement.length / 4);
    expect(dominantPitch(statement, statement.length - quarter)).toBeLessThan(dominantPitch(statement, 0, quarter) * 0.95);

    // The pitch of the last vowel, located through the alignment.
    const lastVowelPitch = (text: string) => {
      const plan = planSpeech(text, WARM);
      const i = text.lastIndexOf("i");
      const from = (plan.alignment.start_ms[i] ?? 0) * 24;
      return dominantPitch(speak(text), from, from + (plan.alignment.duration_ms[i] ?? 0) * 24);
    };
    expect(lastVowelPitch("Are you really coming home tonight?")).toBeGreaterThan(lastVowelPitch("Are you really coming home tonight.") * 1.07);
  });

  it("voices differ in pace, and speed scales the duration", () => {
    const durations = Object.fromEntries(MOCK_VOICES.map((v) => [v.id, planSpeech(SENTENCE, v).durationMs]));
    expect(durations.deep).toBeGreaterThan((durations.warm ?? 0) * 1.1);
    expect(durations.warm).toBeGreaterThan((durations.bright ?? 0) * 1.1);

    const at = (speed: number) => planSpeech(SENTENCE, WARM, { speed }).durationMs;
    expect(at(0.5) / at(1)).toBeCloseTo(2, 1);
    expect(at(1) / at(2)).toBeCloseTo(2, 1);
    expect(at(1.5)).toBeLessThan(at(1));
    expect(at(4)).toBe(at(2)); // clamped to the supported range
  });

  it("duration grows roughly in proportion to the text", () => {
    const texts = [PARAGRAPH.slice(0, 25), PARAGRAPH.slice(0, 100), PARAGRAPH];
    const durations = texts.map((t) => speak(t).length / (MOCK_SAMPLE_RATE / 1000));
    expect(durations[0]).toBeLessThan(durations[1] ?? 0);
    expect(durations[1]).toBeLessThan(durations[2] ?? 0);
    const perChar = durations.map((d, i) => d / (texts[i] ?? "").length);
    for (const p of perChar) {
      expect(p).toBeGreaterThan(WARM.msPerChar * 0.8);
      expect(p).toBeLessThan(WARM.msPerChar * 1.4);
    }
  });

  it("pauses: a space is silent, and , ; : pause less than . ! ? but more than a space", () => {
    const pauseAfter = (text: string) => {
      const plan = planSpeech(text, WARM);
      const i = plan.alignment.chars.indexOf(" ");
      return plan.alignment.duration_ms[i] ?? 0;
    };
    const space = pauseAfter("one two");
    expect(space).toBeGreaterThan(0);
    for (const p of [",", ";", ":"]) expect(pauseAfter(`one${p} two`)).toBeGreaterThan(space * 1.5);
    for (const p of [".", "!", "?"]) expect(pauseAfter(`one${p} two`)).toBeGreaterThan(pauseAfter("one, two") * 1.5);

    // ...and the audio agrees: the longest silence in "one. two" is the sentence pause.
    const x = speak("one. two");
    const runs = soundRuns(x);
    const gaps = runs.slice(1).map(([a], i) => (a - (runs[i]?.[1] ?? 0)) / (MOCK_SAMPLE_RATE / 1000));
    expect(Math.max(...gaps)).toBeGreaterThan(pauseAfter("one. two") * 0.9);
  });
});

describe("determinism and streaming", () => {
  it("the same request gives identical bytes", () => {
    for (const v of MOCK_VOICES) {
      const first = pcm16ToBytes(speak(MIXED, v, { speed: 1.25 }));
      expect(first.length).toBeGreaterThan(0);
      expect(firstDifference(first, pcm16ToBytes(speak(MIXED, v, { speed: 1.25 })))).toBe(-1);
    }
  });

  it("chunk size does not change a sample", () => {
    const whole = speak(SENTENCE, WARM, { chunkMs: 1000 });
    expect(firstDifference(speak(SENTENCE, WARM, { chunkMs: 20 }), whole)).toBe(-1);
    expect(firstDifference(speak(SENTENCE, WARM, { chunkMs: 7.3 }), whole)).toBe(-1);
    expect(firstDifference(speak(SENTENCE, WARM), speak(SENTENCE, WARM, { speed: 1.01 }))).not.toBe(-1); // the check can fail
    expect(whole.length).toBe(planSpeech(SENTENCE, WARM).totalSamples);
  });

  it("streams chunks of the requested size (100 ms by default)", () => {
    const chunks = chunksOf(SENTENCE, WARM);
    const total = planSpeech(SENTENCE, WARM).totalSamples;
    expect(chunks.length).toBe(Math.ceil(total / 2400));
    for (const c of chunks.slice(0, -1)) expect(c.pcm.length).toBe(2400);
    expect(chunksOf(SENTENCE, WARM, { chunkMs: 20 })[0]?.pcm.length).toBe(480);
  });

  it(`synthesizes well above real time`, () => {
    const started = performance.now();
    const samples = speak(`${PARAGRAPH} ${PARAGRAPH}`, WARM);
    const elapsedMs = performance.now() - started;
    const audioMs = samples.length / (MOCK_SAMPLE_RATE / 1000);
    console.log(`mock TTS: ${audioMs.toFixed(0)} ms of audio in ${elapsedMs.toFixed(1)} ms = ${(audioMs / elapsedMs).toFixed(0)}x real time`);
    expect(audioMs / Math.max(elapsedMs, 1)).toBeGreaterThan(50);
  });
});

describe("alignment", () => {
  const checkPlan = (text: string, v: MockVoice, speed?: number) => {
    const plan = planSpeech(text, v, { speed });
    const { chars, start_ms, duration_ms } = plan.alignment;
    expect(plan.sampleRate).toBe(24000);
    expect(plan.durationMs).toBe(plan.totalSamples / 24);
    expect(chars.join("")).toBe(text);
    expect(start_ms.length).toBe(chars.length);
    expect(duration_ms.length).toBe(chars.length);
    start_ms.forEach((s, i) => {
      const d = duration_ms[i] ?? -1;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(s + d).toBeLessThanOrEqual(plan.durationMs);
      if (i > 0) expect(s).toBeGreaterThanOrEqual(start_ms[i - 1] ?? Infinity);
    });
    return plan;
  };

  it("covers every character in order, within the duration", () => {
    for (const v of MOCK_VOICES) {
      for (const text of [SENTENCE, MIXED, UNICODE, PARAGRAPH, "  leading and   inner\n\truns, trailing.  ", "x"]) {
        checkPlan(text, v, 0.75);
        checkPlan(text, v, 1.5);
      }
    }
  });

  it("gives a surrogate pair one entry and every spoken character a non-zero span", () => {
    const plan = checkPlan("hi 😀!", WARM);
    expect(plan.alignment.chars).toEqual(["h", "i", " ", "😀", "!"]);
    for (const [i, ch] of plan.alignment.chars.entries()) if (ch !== " ") expect(plan.alignment.duration_ms[i]).toBeGreaterThan(0);
    // Extra whitespace in a run has no time of its own.
    const runs = checkPlan("a  \n b", WARM).alignment;
    expect(runs.duration_ms.slice(1, 5).filter((d) => d > 0).length).toBe(1);
  });

  it("matches the audio: spoken characters are sound, spaces are silence", () => {
    const text = "Hi there, mock voice.";
    const plan = planSpeech(text, WARM);
    const x = speak(text);
    const at = (ms: number) => Math.round(ms * 24);
    plan.alignment.chars.forEach((ch, i) => {
      const start = at(plan.alignment.start_ms[i] ?? 0);
      const end = start + at(plan.alignment.duration_ms[i] ?? 0);
      if (ch === " ") expect(rms(x, start + 24, end - 24)).toBe(0);
      else expect(rms(x, start, end)).toBeGreaterThan(0.03 * 32768);
    });
  });

  it("per-chunk alignments, offset by each chunk's start, reconstruct the plan", () => {
    for (const chunkMs of [20, 100, 333.3, 5000]) {
      const plan = planSpeech(`${UNICODE} ${SENTENCE}`, WARM, { speed: 1.5 });
      const chunks = chunksOf(`${UNICODE} ${SENTENCE}`, WARM, { speed: 1.5, chunkMs });
      const merged: Alignment = { chars: [], start_ms: [], duration_ms: [] };
      let chunkStart = 0;
      for (const c of chunks) {
        const chunkStartMs = chunkStart / 24;
        c.alignment.start_ms.forEach((s, i) => {
          expect(s).toBeGreaterThanOrEqual(0);
          expect(s).toBeLessThanOrEqual(c.pcm.length / 24); // its start falls inside this chunk
          merged.start_ms.push(chunkStartMs + s);
          merged.chars.push(c.alignment.chars[i] ?? "");
          merged.duration_ms.push(c.alignment.duration_ms[i] ?? 0);
        });
        chunkStart += c.pcm.length;
      }
      expect(merged.chars).toEqual(plan.alignment.chars);
      expect(merged.duration_ms).toEqual(plan.alignment.duration_ms);
      for (const [i, s] of merged.start_ms.entries()) expect(Math.abs(s - (plan.alignment.start_ms[i] ?? Infinity))).toBeLessThanOrEqual(1);
    }
  });
});

describe("decodeSpeech", () => {
  const texts = [SENTENCE, MIXED, PARAGRAPH, UNICODE];

  it("the paragraph is 300 characters", () => expect(PARAGRAPH.length).toBe(300));

  for (const v of MOCK_VOICES) {
    for (const speed of [0.75, 1.5]) {
      it(`recovers the text at 24 kHz and resampled to 16 kHz, ${v.id} at ${speed}x`, () => {
        for (const text of texts) {
          const x = speak(text, v, { speed });
          expect(decodeSpeech(x, 24000)).toBe(text);
          expect(decodeSpeech(resampleLinear(x, 24000, 16000), 16000)).toBe(text);
          expect(decodeSpeech(resampleSinc(x, 24000, 16000), 16000)).toBe(text);
        }
      });
    }
  }

  it("works at the extremes of the speed range and at the default speed", () => {
    for (const v of MOCK_VOICES) {
      for (const speed of [0.5, 1, 2]) {
        const x = speak(MIXED, v, { speed });
        expect(decodeSpeech(x, 24000)).toBe(MIXED);
        expect(decodeSpeech(resampleSinc(x, 24000, 16000), 16000)).toBe(MIXED);
      }
    }
  });

  it("decodes the concatenation of odd-sized chunks, and of two utterances", () => {
    expect(decodeSpeech(speak(SENTENCE, voice("bright"), { chunkMs: 3.7 }), 24000)).toBe(SENTENCE);
    // Sentence-final punctuation keeps its pause, so back-to-back sentences keep their space.
    const two = concat([speak("Hello there."), speak("How are you?")]);
    expect(decodeSpeech(two, 24000)).toBe("Hello there. How are you?");
  });

  it("collapses whitespace runs and trims", () => {
    const text = "  Tabs\tand\n\nnew lines   here ";
    expect(decodeSpeech(speak(text), 24000)).toBe(normalized(text));
    expect(decodeSpeech(speak("a,b c"), 24000)).toBe("a,b c");
  });

  it("tolerates gain changes, float input and moderate noise", () => {
    const x = speak(MIXED, voice("deep"));
    const quiet = Float32Array.from(x, (s) => (s / 32768) * 0.05);
    expect(decodeSpeech(quiet, 24000)).toBe(MIXED);
    let seed = 1;
    const noise = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    // Uniform noise with an RMS of -40 dBFS.
    const noisy = Float32Array.from(x, (s) => s / 32768 + noise() * 0.01 * Math.sqrt(12));
    expect(decodeSpeech(noisy, 24000)).toBe(MIXED);
  });

  it("rejects sample rates too low to carry the tones", () => {
    expect(() => decodeSpeech(new Int16Array(10), 4000)).toThrow(RangeError);
  });
});
