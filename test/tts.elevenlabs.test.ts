import { afterEach, describe, expect, it, vi } from "vitest";
import { concat } from "../src/lib/bytes";
import { encodeBase64 } from "../src/lib/crypto";
import { elevenlabs, elevenlabsProxy } from "../src/providers/tts/elevenlabs";
import type { Alignment, AudioFormat, SpeechChunk, SpeechRequest } from "../src/providers/tts/types";
import { VOICES } from "../src/providers/tts/voices";
import { bytesToPcm16, parseWav } from "../src/providers/tts/wav";
import { CallerGone } from "../src/providers/upstream";
import { hostileCodes, INTERNAL_HOST, LEAKS, leakyMessage } from "./helpers/leaks";
import {
  collect,
  deployment,
  type FakeBody,
  fakeUpstream,
  jsonResponse,
  noAnswer,
  providerContext,
  sleep,
  type TrickleOptions,
  trickle,
  typedErrors,
  unreachable,
  watchLogs,
} from "./helpers/upstream-harness";

/**
 * The ElevenLabs provider against a fake upstream that speaks its documented wire format
 * (reference/upstreams.md §1), played through the provider test harness.
 */

const KEY = "xi-test-secret-0123456789";
const HOST = "fake-elevenlabs.test";
const BASE = `https://${HOST}`;
const FIRST_BYTE_MS = 200;
const IDLE_MS = 300;
const SETTINGS = {
  ELEVENLABS_API_KEY: KEY,
  ELEVENLABS_BASE_URL: BASE,
  TTS_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_MS),
  TTS_STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
};
const CONFIG = deployment(SETTINGS);
/** Behind a gateway: a base URL with a path of its own and a trailing slash. */
const GATEWAY_CONFIG = deployment({ ...SETTINGS, ELEVENLABS_BASE_URL: "https://gateway.fake-elevenlabs.test/v1/acct/gw/elevenlabs/" });
const UNCONFIGURED = deployment({ ...SETTINGS, ELEVENLABS_API_KEY: "" });

/** What must never show up in an error message or a log line. */
const SECRETS = [KEY, HOST];

const RACHEL = "21m00Tcm4TlvDq8ikWAM";

afterEach(() => vi.restoreAllMocks());
// Upstream failures are logged; the key must not be, whatever happened.
const logs = watchLogs([KEY]);
const { apiErrorOf } = typedErrors(SECRETS);

const context = (signal?: AbortSignal, config = CONFIG) => providerContext(config, signal);

const speech = (format: AudioFormat, extra: Partial<SpeechRequest> = {}): SpeechRequest => ({ text: "Hello world", voice: RACHEL, format, ...extra });

// ---------------------------------------------------------------------------------------------
// ElevenLabs' answers

/** Headers ElevenLabs sends with its audio. */
const ELEVEN_HEADERS = {
  "request-id": "Qm4xT0dXbWp6ZkJ3c0h2",
  "x-character-count": "11",
  "current-concurrent-requests": "1",
  "maximum-concurrent-requests": "5",
};

/** An audio answer whose body trickles in. */
function audioAnswer(contentType: string, chunks: Uint8Array[], options: TrickleOptions = {}): FakeBody & { response: Response } {
  const fake = trickle(chunks, options);
  return { ...fake, response: new Response(fake.body, { headers: { "content-type": contentType, ...ELEVEN_HEADERS } }) };
}

// ---------------------------------------------------------------------------------------------
// Audio fixtures

/** Deterministic bytes that differ from chunk to chunk. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz (header FF FB 90 64), 417 bytes each. */
function mp3Frames(count: number, seed: number): Uint8Array {
  const out = noise(417 * count, seed);
  for (let f = 0; f < count; f++) out.set([0xff, 0xfb, 0x90, 0x64], f * 417);
  return out;
}

/** s16le mono: a 440 Hz tone at `rate`, `ms` long, starting `fromMs` into it. */
function pcmTone(ms: number, rate = 24_000, fromMs = 0): Uint8Array {
  const samples = (ms * rate) / 1000;
  const first = (fromMs * rate) / 1000;
  const bytes = new Uint8Array(samples * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples; i++) view.setInt16(i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 440 * (first + i)) / rate)), true);
  return bytes;
}

const encoder = new TextEncoder();

/** Cuts bytes into pieces of at most `size`, as a network might. */
function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
  return out;
}

/** Cuts bytes at the given offsets. */
function cutAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const bounds = [0, ...offsets, bytes.length];
  return bounds.slice(1).map((end, i) => bytes.slice(bounds[i], end));
}

// ---------------------------------------------------------------------------------------------
// The with-timestamps wire format: one JSON object per line

interface WireAlignment {
  characters: string[];
  character_start_times_seconds: number[];
  character_end_times_seconds: number[];
}

interface WireLine {
  audio: Uint8Array;
  alignment: WireAlignment | null;
}

const wire = (characters: string[], starts: number[], ends: number[]): WireAlignment => ({
  characters,
  character_start_times_seconds: starts,
  character_end_times_seconds: ends,
});

/** The NDJSON bytes ElevenLabs streams: `normalized_alignment` mirrors `alignment` for plain text. */
function ndjson(lines: WireLine[]): Uint8Array {
  const text = lines
    .map((line) => JSON.stringify({ audio_base64: encodeBase64(line.audio), alignment: line.alignment, normalized_alignment: line.alignment }))
    .join("\n");
  return encoder.encode(`${text}\n`);
}

/**
 * "Hello world" at pcm_24000 in three lines of 100, 200 and 150 ms, then 10 ms of trailing silence
 * without timings. ElevenLabs' times run from the start of the whole utterance.
 */
const PCM_LINES: WireLine[] = [
  { audio: pcmTone(100), alignment: wire(["H", "e", "l"], [0, 0.0348, 0.0697], [0.0348, 0.0697, 0.1046]) },
  {
    audio: pcmTone(200, 24_000, 100),
    alignment: wire(["l", "o", " ", "w", "o"], [0.1046, 0.1512, 0.2003, 0.2337, 0.2791], [0.1512, 0.2003, 0.2337, 0.2791, 0.3124]),
  },
  { audio: pcmTone(150, 24_000, 300), alignment: wire(["r", "l", "d"], [0.3124, 0.3589, 0.4012], [0.3589, 0.4012, 0.4437]) },
  { audio: pcmTone(10, 24_000, 450), alignment: null },
];

/**
 * Worked by hand: each chunk's times minus the audio before it (0, 100, 300 ms), rounded; a
 * duration is the rounded end minus the rounded start.
 *   line 1, offset 0:   starts 0, 34.8→35, 69.7→70;                 ends 35, 70, 104.6→105
 *   line 2, offset 100: starts 4.6→5, 51.2→51, 100.3→100, 133.7→134, 179.1→179; ends 51, 100, 134, 179, 212.4→212
 *   line 3, offset 300: starts 12.4→12, 58.9→59, 101.2→101;          ends 59, 101, 143.7→144
 */
const PCM_ALIGNMENTS: (Alignment | null)[] = [
  { chars: ["H", "e", "l"], start_ms: [0, 35, 70], duration_ms: [35, 35, 35] },
  { chars: ["l", "o", " ", "w", "o"], start_ms: [5, 51, 100, 134, 179], duration_ms: [46, 49, 34, 45, 33] },
  { chars: ["r", "l", "d"], start_ms: [12, 59, 101], duration_ms: [47, 42, 43] },
  null,
];

/**
 * "Hi you" as mp3_44100_128 in lines of 1600 and 2000 bytes: at a constant 128 kbit/s (16 bytes a
 * millisecond) the first plays 100 ms, so the second line's times move back by 100 ms.
 *   line 1, offset 0:   starts 0, 55.7→56, 97.6→98;     ends 56, 98, 116.1→116
 *   line 2, offset 100: starts 16.1→16, 62.6→63, 108.9→109; ends 63, 109, 141.4→141
 */
const MP3_LINES: WireLine[] = [
  { audio: noise(1600, 1), alignment: wire(["H", "i", " "], [0, 0.0557, 0.0976], [0.0557, 0.0976, 0.1161]) },
  { audio: noise(2000, 2), alignment: wire(["y", "o", "u"], [0.1161, 0.1626, 0.2089], [0.1626, 0.2089, 0.2414]) },
];
const MP3_ALIGNMENTS: Alignment[] = [
  { chars: ["H", "i", " "], start_ms: [0, 56, 98], duration_ms: [56, 42, 18] },
  { chars: ["y", "o", "u"], start_ms: [16, 63, 109], duration_ms: [47, 46, 32] },
];

/**
 * The NDJSON of three or more lines, cut awkwardly: half of line 1 | the rest of line 1, all of
 * line 2 and 10 bytes of line 3 | the rest.
 */
function awkwardly(lines: WireLine[]): Uint8Array[] {
  const bytes = ndjson(lines);
  const ends: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) ends.push(i + 1);
  const [first = 0, second = 0] = ends;
  return cutAt(bytes, [Math.floor(first / 2), second + 10]);
}

const ndjsonAnswer = (chunks: Uint8Array[], options: TrickleOptions = {}) => audioAnswer("application/json", chunks, options);

// ---------------------------------------------------------------------------------------------
// Consumers

async function synthesizeAll(request: SpeechRequest, ctx = context()): Promise<SpeechChunk[]> {
  return collect((await elevenlabs.synthesize(request, ctx)).chunks);
}

// ---------------------------------------------------------------------------------------------

describe("catalogue", () => {
  it("describes ElevenLabs: formats, timings and the built-in ElevenLabs voices", () => {
    expect(elevenlabs).toMatchObject({ id: "elevenlabs", name: "ElevenLabs", timings: true, formats: ["mp3", "wav", "pcm_16000", "pcm_24000"] });
    const builtIn = VOICES.filter((v) => v.provider === "elevenlabs");
    expect(builtIn.length).toBeGreaterThan(0);
    expect(elevenlabs.voices).toEqual(builtIn);
    expect(elevenlabs.voices.find((v) => v.voice === RACHEL)?.name).toBe("Rachel");
  });

  it("is configured exactly when its key is set", () => {
    expect(elevenlabs.configured(CONFIG)).toBe(true);
    expect(elevenlabs.configured(UNCONFIGURED)).toBe(false);
  });

  it("without a key, synthesize() throws provider.not_configured and sends nothing", async () => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", [mp3Frames(1, 1)]).response);
    await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context(undefined, UNCONFIGURED)), "provider.not_configured");
    expect(sent).toHaveLength(0);
  });

  it("gives the media type of each format", async () => {
    fakeUpstream(() => audioAnswer("audio/mpeg", []).response);
    const types = [];
    for (const format of elevenlabs.formats) types.push((await elevenlabs.synthesize(speech(format), context())).contentType);
    expect(types).toEqual([
      "audio/mpeg",
      "audio/wav",
      "audio/pcm;rate=16000;encoding=signed-int;bits=16;channels=1;endianness=little",
      "audio/pcm;rate=24000;encoding=signed-int;bits=16;channels=1;endianness=little",
    ]);
  });
});

describe("the request", () => {
  it("POSTs the text with the flash model to /stream, authenticated with xi-api-key", async () => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", [mp3Frames(2, 1)]).response);
    await synthesizeAll(speech("mp3"));
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req?.url).toBe(`${BASE}/v1/text-to-speech/${RACHEL}/stream?output_format=mp3_44100_128`);
    expect(req?.method).toBe("POST");
    expect(req?.headers.get("xi-api-key")).toBe(KEY);
    expect(req?.headers.get("authorization")).toBeNull();
    expect(req?.headers.get("content-type")).toBe("application/json");
    // No speed asked for: no voice_settings at all, so the voice's own settings apply.
    expect(req?.body).toEqual({ text: "Hello world", model_id: "eleven_flash_v2_5" });
  });

  it("sends the speed in voice_settings when one is given", async () => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", []).response);
    await synthesizeAll(speech("mp3", { speed: 1.15 }));
    expect(sent[0]?.body).toEqual({ text: "Hello world", model_id: "eleven_flash_v2_5", voice_settings: { speed: 1.15 } });
  });

  it.each([
    ["mp3", "mp3_44100_128"],
    ["wav", "pcm_24000"],
    ["pcm_16000", "pcm_16000"],
    ["pcm_24000", "pcm_24000"],
  ] as const)("asks for %s as output_format=%s", async (format, outputFormat) => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", []).response);
    await synthesizeAll(speech(format));
    expect(new URL(sent[0]?.url ?? "").searchParams.get("output_format")).toBe(outputFormat);
  });

  it("uses /stream/with-timestamps when timings are asked for", async () => {
    const sent = fakeUpstream(() => ndjsonAnswer([ndjson(MP3_LINES)]).response);
    await synthesizeAll(speech("mp3", { timestamps: true }));
    expect(sent[0]?.url).toBe(`${BASE}/v1/text-to-speech/${RACHEL}/stream/with-timestamps?output_format=mp3_44100_128`);
  });

  it("encodes the voice id as one path segment", async () => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", []).response);
    await synthesizeAll(speech("pcm_16000", { voice: "../my voice?x=1#é" }));
    expect(sent[0]?.url).toBe(`${BASE}/v1/text-to-speech/..%2Fmy%20voice%3Fx%3D1%23%C3%A9/stream?output_format=pcm_16000`);
  });

  it("joins a base URL with a path and a trailing slash without doubling the slash", async () => {
    const sent = fakeUpstream(() => audioAnswer("audio/mpeg", []).response);
    await synthesizeAll(speech("mp3"), context(undefined, GATEWAY_CONFIG));
    expect(sent[0]?.url).toBe(`https://gateway.fake-elevenlabs.test/v1/acct/gw/elevenlabs/v1/text-to-speech/${RACHEL}/stream?output_format=mp3_44100_128`);
  });
});

describe("audio without timestamps", () => {
  it("passes mp3 through unchanged, in the upstream's own chunks, without alignment", async () => {
    const frames = [mp3Frames(3, 1), mp3Frames(2, 2), mp3Frames(4, 3)];
    fakeUpstream(() => audioAnswer("audio/mpeg", frames, { pauseMs: 5 }).response);
    const chunks = await synthesizeAll(speech("mp3"));
    expect(chunks.map((c) => c.audio)).toEqual(frames);
    expect(chunks.map((c) => c.alignment)).toEqual([null, null, null]);
  });

  it.each([
    ["pcm_16000", 16_000],
    ["pcm_24000", 24_000],
  ] as const)("passes %s through as the upstream's raw s16le", async (format, rate) => {
    const pcm = [pcmTone(40, rate), pcmTone(60, rate, 40), pcmTone(20, rate, 100)];
    fakeUpstream(() => audioAnswer("application/octet-stream", pcm, { pauseMs: 5 }).response);
    const chunks = await synthesizeAll(speech(format));
    expect(chunks.map((c) => c.audio)).toEqual(pcm);
  });

  it("wav is a streaming WAV header (24 kHz, mono, 16-bit, unknown length) followed by exactly the upstream PCM", async () => {
    const pcm = [pcmTone(40), pcmTone(60, 24_000, 40), pcmTone(20, 24_000, 100)];
    fakeUpstream(() => audioAnswer("application/octet-stream", pcm, { pauseMs: 5 }).response);
    const chunks = await synthesizeAll(speech("wav"));
    expect(chunks.map((c) => c.audio.byteLength)).toEqual([44, ...pcm.map((c) => c.byteLength)]);
    const bytes = concat(...chunks.map((c) => c.audio));
    const wav = parseWav(bytes);
    expect(wav).toMatchObject({ sampleRate: 24_000, channels: 1, bitsPerSample: 16, dataOffset: 44 });
    expect(bytes.subarray(44)).toEqual(concat(...pcm));
    expect(wav.samples).toEqual(bytesToPcm16(concat(...pcm)));
    // Both sizes say "until the end of the bytes", as a streamed WAV must.
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(4, true), view.getUint32(40, true)]).toEqual([0xffffffff, 0xffffffff]);
  });

  it("hands the first chunk on before the upstream has written its last", async () => {
    const frames = [mp3Frames(1, 1), mp3Frames(1, 2), mp3Frames(1, 3), mp3Frames(1, 4), mp3Frames(1, 5)];
    const fake = audioAnswer("audio/mpeg", frames, { pauseMs: 40 });
    fakeUpstream(() => fake.response);
    let enqueuedAtFirst = -1;
    const received: Uint8Array[] = [];
    for await (const chunk of (await elevenlabs.synthesize(speech("mp3"), context())).chunks) {
      if (received.length === 0) enqueuedAtFirst = fake.enqueued();
      received.push(chunk.audio);
    }
    expect(enqueuedAtFirst).toBeGreaterThanOrEqual(1);
    expect(enqueuedAtFirst).toBeLessThan(frames.length);
    expect(received).toEqual(frames);
  });
});

describe("audio with timestamps", () => {
  it("pcm_24000: decodes each line's audio exactly and moves its timings to the start of that chunk", async () => {
    fakeUpstream(() => ndjsonAnswer(awkwardly(PCM_LINES), { pauseMs: 5 }).response);
    const chunks = await synthesizeAll(speech("pcm_24000", { timestamps: true }));
    expect(chunks.map((c) => c.audio)).toEqual(PCM_LINES.map((l) => l.audio));
    expect(chunks.map((c) => c.alignment)).toEqual(PCM_ALIGNMENTS);
    expect(chunks.flatMap((c) => c.alignment?.chars ?? []).join("")).toBe("Hello world");
  });

  it("the awkward cut really splits a line and merges two others into one network chunk", () => {
    const pieces = awkwardly(PCM_LINES);
    const newlines = (bytes: Uint8Array) => bytes.filter((b) => b === 0x0a).length;
    expect(pieces).toHaveLength(3);
    expect(newlines(pieces[0] ?? new Uint8Array())).toBe(0);
    expect(newlines(pieces[1] ?? new Uint8Array())).toBe(2);
    expect((pieces[1] ?? new Uint8Array()).at(-1)).not.toBe(0x0a);
  });

  it.each([1, 7, 4096, 1_000_000])("gives the same chunks however the network cuts the lines (pieces of %i bytes)", async (size) => {
    const bytes = ndjson(PCM_LINES);
    fakeUpstream(() => ndjsonAnswer(cut(bytes, size)).response);
    const chunks = await synthesizeAll(speech("pcm_24000", { timestamps: true }));
    expect(chunks.map((c) => c.audio)).toEqual(PCM_LINES.map((l) => l.audio));
    expect(chunks.map((c) => c.alignment)).toEqual(PCM_ALIGNMENTS);
  });

  it("mp3: estimates the audio before each chunk at 128 kbit/s", async () => {
    // Lines of about 2 and 2.7 kB, so 1000-byte pieces cut both and join the end of one to the next.
    fakeUpstream(() => ndjsonAnswer(cut(ndjson(MP3_LINES), 1000)).response);
    const chunks = await synthesizeAll(speech("mp3", { timestamps: true }));
    expect(chunks.map((c) => c.audio)).toEqual(MP3_LINES.map((l) => l.audio));
    expect(chunks.map((c) => c.alignment)).toEqual(MP3_ALIGNMENTS);
  });

  it("mp3: a character that starts just before the estimated start of its chunk starts at 0, not before", async () => {
    const lines: WireLine[] = [
      { audio: noise(1600, 1), alignment: wire(["a"], [0], [0.099]) },
      // 99 ms is 1 ms before the 100 ms the first 1600 bytes are estimated to play.
      { audio: noise(800, 2), alignment: wire(["h"], [0.099], [0.1402]) },
    ];
    fakeUpstream(() => ndjsonAnswer([ndjson(lines)]).response);
    const chunks = await synthesizeAll(speech("mp3", { timestamps: true }));
    expect(chunks.map((c) => c.alignment)).toEqual([
      { chars: ["a"], start_ms: [0], duration_ms: [99] },
      { chars: ["h"], start_ms: [0], duration_ms: [40] },
    ]);
  });

  it("pcm_16000: offsets follow that rate (100 ms is 3200 bytes)", async () => {
    const lines: WireLine[] = [
      { audio: pcmTone(100, 16_000), alignment: wire(["O"], [0], [0.1]) },
      { audio: pcmTone(50, 16_000, 100), alignment: wire(["k"], [0.1203], [0.1488]) },
    ];
    const sent = fakeUpstream(() => ndjsonAnswer([ndjson(lines)]).response);
    const chunks = await synthesizeAll(speech("pcm_16000", { timestamps: true }));
    expect(new URL(sent[0]?.url ?? "").searchParams.get("output_format")).toBe("pcm_16000");
    expect(chunks.map((c) => c.alignment)).toEqual([
      { chars: ["O"], start_ms: [0], duration_ms: [100] },
      { chars: ["k"], start_ms: [20], duration_ms: [29] },
    ]);
  });

  it("wav: the header goes in front of the first chunk's audio and takes no time", async () => {
    const sent = fakeUpstream(() => ndjsonAnswer(awkwardly(PCM_LINES)).response);
    const chunks = await synthesizeAll(speech("wav", { timestamps: true }));
    expect(new URL(sent[0]?.url ?? "").searchParams.get("output_format")).toBe("pcm_24000");
    expect(chunks.map((c) => c.audio.byteLength)).toEqual(PCM_LINES.map((l, i) => l.audio.byteLength + (i === 0 ? 44 : 0)));
    expect(chunks.map((c) => c.alignment)).toEqual(PCM_ALIGNMENTS);
    const wav = parseWav(concat(...chunks.map((c) => c.audio)));
    expect(wav).toMatchObject({ sampleRate: 24_000, channels: 1, bitsPerSample: 16, dataOffset: 44 });
    expect(wav.samples).toEqual(bytesToPcm16(concat(...PCM_LINES.map((l) => l.audio))));
  });

  it("a line without alignment (null or absent) gives alignment null, and still counts towards later offsets", async () => {
    const silence = pcmTone(50);
    const lines = [
      JSON.stringify({ audio_base64: encodeBase64(silence), alignment: null, normalized_alignment: null }),
      JSON.stringify({ audio_base64: encodeBase64(silence) }),
      JSON.stringify({ audio_base64: encodeBase64(pcmTone(20)), alignment: wire(["A"], [0.1104], [0.1187]) }),
    ];
    fakeUpstream(() => ndjsonAnswer([encoder.encode(`${lines.join("\n")}\n`)]).response);
    const chunks = await synthesizeAll(speech("pcm_24000", { timestamps: true }));
    expect(chunks.map((c) => c.alignment)).toEqual([null, null, { chars: ["A"], start_ms: [10], duration_ms: [9] }]);
  });

  it("reads characters cut in the middle of their UTF-8 bytes, blank lines and a last line without a newline", async () => {
    const audio = pcmTone(30);
    const line = (from: number) =>
      JSON.stringify({
        audio_base64: encodeBase64(audio),
        alignment: wire(["東", "京", "😀"], [from, from + 0.01, from + 0.02], [from + 0.01, from + 0.02, from + 0.03]),
      });
    const bytes = encoder.encode(`\n${line(0)}\n\n${line(0.03)}`);
    // 東 starts after the JSON up to `"characters":["`; cut one byte into it.
    const at = encoder.encode(`\n${line(0).slice(0, line(0).indexOf("東"))}`).length + 1;
    fakeUpstream(() => ndjsonAnswer(cutAt(bytes, [at, at + 4])).response);
    const chunks = await synthesizeAll(speech("pcm_24000", { timestamps: true }));
    const timings = { chars: ["東", "京", "😀"], start_ms: [0, 10, 20], duration_ms: [10, 10, 10] };
    expect(chunks.map((c) => c.alignment)).toEqual([timings, timings]);
    expect(chunks.map((c) => c.audio)).toEqual([audio, audio]);
  });

  it("hands the first chunk on before the upstream has written its last line", async () => {
    const pieces = cut(ndjson(PCM_LINES), 2048);
    const fake = ndjsonAnswer(pieces, { pauseMs: 20 });
    fakeUpstream(() => fake.response);
    let enqueuedAtFirst = -1;
    const chunks: SpeechChunk[] = [];
    for await (const chunk of (await elevenlabs.synthesize(speech("pcm_24000", { timestamps: true }), context())).chunks) {
      if (chunks.length === 0) enqueuedAtFirst = fake.enqueued();
      chunks.push(chunk);
    }
    expect(enqueuedAtFirst).toBeGreaterThan(0);
    expect(enqueuedAtFirst).toBeLessThan(pieces.length);
    expect(chunks).toHaveLength(PCM_LINES.length);
  });
});

describe("cancelling", () => {
  it.each([
    ["mp3", false],
    ["wav", false],
    ["pcm_24000", true],
  ] as const)("%s (timestamps: %s): leaving the loop early cancels the upstream body", async (format, timestamps) => {
    const pieces = timestamps ? PCM_LINES.map((l) => ndjson([l])) : [mp3Frames(1, 1), mp3Frames(1, 2), mp3Frames(1, 3), mp3Frames(1, 4)];
    const fake = timestamps ? ndjsonAnswer(pieces, { pauseMs: 30 }) : audioAnswer("audio/mpeg", pieces, { pauseMs: 30 });
    fakeUpstream(() => fake.response);
    let seen = 0;
    for await (const chunk of (await elevenlabs.synthesize(speech(format, { timestamps }), context())).chunks) {
      expect(chunk.audio.byteLength).toBeGreaterThan(0);
      seen++;
      if (seen === 2) break;
    }
    expect(fake.cancelled()).toBe(true);
    const enqueued = fake.enqueued();
    expect(enqueued).toBeLessThan(pieces.length);
    await sleep(100);
    expect(fake.enqueued()).toBe(enqueued);
  });

  it.each([
    ["mp3", false],
    ["pcm_24000", true],
  ] as const)("%s (timestamps: %s): return() before the first next() cancels the upstream body", async (format, timestamps) => {
    const fake = timestamps
      ? ndjsonAnswer(awkwardly(PCM_LINES), { pauseMs: 30 })
      : audioAnswer("audio/mpeg", [mp3Frames(1, 1), mp3Frames(1, 2)], { pauseMs: 30 });
    fakeUpstream(() => fake.response);
    const iterator = (await elevenlabs.synthesize(speech(format, { timestamps }), context())).chunks;
    expect(fake.cancelled()).toBe(false);
    await iterator.return?.();
    expect(fake.cancelled()).toBe(true);
  });

  it("wav: return() right after the header, before any upstream audio was read, cancels the upstream body", async () => {
    const fake = audioAnswer("application/octet-stream", [pcmTone(20), pcmTone(20, 24_000, 20)], { pauseMs: 30 });
    fakeUpstream(() => fake.response);
    const iterator = (await elevenlabs.synthesize(speech("wav"), context())).chunks;
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value?.audio.byteLength).toBe(44);
    expect(fake.cancelled()).toBe(false);
    await iterator.return?.();
    expect(fake.cancelled()).toBe(true);
  });

  it.each([false, true])("aborting the caller's signal aborts the upstream request and ends the iterator (timestamps: %s)", async (timestamps) => {
    const caller = new AbortController();
    const pieces = timestamps ? PCM_LINES.map((l) => ndjson([l])) : [pcmTone(20), pcmTone(20, 24_000, 20), pcmTone(20, 24_000, 40)];
    const sent = fakeUpstream((req) => audioAnswer("application/octet-stream", pieces, { pauseMs: 30, signal: req.signal }).response);
    const iterator = (await elevenlabs.synthesize(speech("pcm_24000", { timestamps }), context(caller.signal))).chunks;
    const first = await iterator.next();
    expect(first.value?.audio).toEqual(timestamps ? PCM_LINES[0]?.audio : pieces[0]);
    expect(sent[0]?.signal?.aborted).toBe(false);
    caller.abort();
    expect(sent[0]?.signal?.aborted).toBe(true);
    await expect(iterator.next()).rejects.toBeInstanceOf(CallerGone);
    // The caller left: that is nobody's failure, so nothing is logged as one.
    expect(logs.lines()).toEqual([]);
  });
});

describe("failures", () => {
  it("429 too_many_concurrent_requests is provider.rate_limited with Retry-After", async () => {
    fakeUpstream(() =>
      jsonResponse(
        {
          detail: {
            status: "too_many_concurrent_requests",
            message: "Your current subscription is associated with a maximum of 5 concurrent requests. Please upgrade or retry later.",
          },
        },
        429,
        { "retry-after": "3", "current-concurrent-requests": "5", "maximum-concurrent-requests": "5" },
      ),
    );
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "3" });
  });

  it("400 max_character_limit_exceeded is provider.rejected with a fixed text and ElevenLabs' status; its reason goes to the log only", async () => {
    const message = `You are sending 45123 characters, more than the 40000 allowed for eleven_flash_v2_5 with key ${KEY}. See https://${HOST}/docs/models or ask support@${HOST}.`;
    fakeUpstream(() => jsonResponse({ detail: { status: "max_character_limit_exceeded", message } }, 400));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.rejected");
    expect(err.status).toBe(400);
    expect(err.message).toBe("elevenlabs refused the request as invalid (upstream code: max_character_limit_exceeded).");
    expect(logs.lines().some((line) => line.includes("You are sending 45123 characters"))).toBe(true);
  });

  it("400 in the current shape (code, type and message inside detail) is read the same way", async () => {
    fakeUpstream(() =>
      jsonResponse(
        {
          detail: {
            type: "validation_error",
            code: "invalid_parameters",
            message: "Model 'eleven_flash_v2_5' does not support speed 3.",
            request_id: "req_9a8b",
          },
        },
        400,
      ),
    );
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3", { speed: 3 }), context()), "provider.rejected");
    expect(err.message).toBe("elevenlabs refused the request as invalid (upstream code: invalid_parameters).");
    expect(logs.lines().some((line) => line.includes("does not support speed 3"))).toBe(true);
  });

  it("400 with a bare string detail is provider.rejected, with no code to give", async () => {
    fakeUpstream(() => jsonResponse({ detail: "Text must not be empty." }, 400));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3", { text: "" }), context()), "provider.rejected");
    expect(err.message).toBe("elevenlabs refused the request as invalid.");
    expect(logs.lines().some((line) => line.includes("Text must not be empty."))).toBe(true);
  });

  it("422 FastAPI validation is provider.rejected as unprocessable; the message and the field go to the log", async () => {
    fakeUpstream(() => jsonResponse({ detail: [{ loc: ["body", "text"], msg: "field required", type: "value_error.missing" }] }, 422));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.rejected");
    expect(err.status).toBe(400);
    // A dotted code is not echoed: no dot, so no host name ever fits the pattern of an echoed code.
    expect(err.message).toBe("elevenlabs refused the request as unprocessable.");
    expect(logs.lines().some((line) => line.includes("field required (body.text)"))).toBe(true);
  });

  it("401 invalid_api_key is provider.unavailable, its reason logged but not echoed", async () => {
    fakeUpstream(() => jsonResponse({ detail: { status: "invalid_api_key", message: "Invalid API key" } }, 401));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe(
      "elevenlabs did not accept this deployment's credentials (HTTP 401, upstream code: invalid_api_key); the operator of this deployment must check its account there.",
    );
    expect(logs.lines().some((line) => line.includes("Invalid API key") && line.includes('"status":401'))).toBe(true);
  });

  it("404 voice_not_found is provider.unavailable, naming the voice as unknown", async () => {
    fakeUpstream(() => jsonResponse({ detail: { status: "voice_not_found", message: `A voice with the voice_id ${RACHEL} was not found.` } }, 404));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.unavailable");
    expect(err.message).toBe("elevenlabs does not know the requested voice (HTTP 404, upstream code: voice_not_found); use another.");
  });

  it("500 is provider.unavailable", async () => {
    fakeUpstream(() => jsonResponse({ detail: { status: "internal_server_error", message: "An internal server error occurred." } }, 500));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3", { timestamps: true }), context()), "provider.unavailable");
    expect(err.message).toBe("elevenlabs failed with a server error (HTTP 500, upstream code: internal_server_error); try again shortly.");
  });

  it("a network failure is provider.unavailable", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED ${HOST}:443 (${KEY})`));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.unavailable");
    expect(err.message).toBe("elevenlabs could not be reached; try again shortly.");
  });

  it("an upstream that never answers is provider.timeout after the first-byte timeout, and the request is aborted", async () => {
    const sent = fakeUpstream(noAnswer);
    const started = Date.now();
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.timeout");
    const elapsed = Date.now() - started;
    expect(err.status).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(FIRST_BYTE_MS - 10);
    expect(elapsed).toBeLessThan(FIRST_BYTE_MS + 1000);
    expect(sent[0]?.signal?.aborted).toBe(true);
  });

  it("a stream that stalls longer than the idle timeout throws provider.timeout and is cancelled", async () => {
    const fake = audioAnswer("audio/mpeg", [mp3Frames(2, 1)], { end: "hang" });
    fakeUpstream(() => fake.response);
    const iterator = (await elevenlabs.synthesize(speech("mp3"), context())).chunks;
    expect((await iterator.next()).value?.audio).toEqual(mp3Frames(2, 1));
    const started = Date.now();
    await apiErrorOf(iterator.next(), "provider.timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 10);
    expect(fake.cancelled()).toBe(true);
    expect(logs.lines().some((line) => line.includes("tts stream failed") && line.includes("provider.timeout"))).toBe(true);
  });

  const good = JSON.stringify({ audio_base64: encodeBase64(pcmTone(20)), alignment: null });
  it.each([
    ["a line that is not JSON", `${good}\n{"audio_base64":"AAAA","alignment":{"charac\n`],
    ["a line without audio", `${good}\n${JSON.stringify({ alignment: wire(["a"], [0], [0.1]) })}\n`],
    ["audio that is not base64", `${good}\n${JSON.stringify({ audio_base64: "not base64!", alignment: null })}\n`],
    ["timings whose lists do not match", `${good}\n${JSON.stringify({ audio_base64: "AAAA", alignment: wire(["a", "b"], [0], [0.1, 0.2]) })}\n`],
    ["a line cut off at the end of the stream", `${good}\n{"audio_base64":"AAAA","align`],
  ])("%s makes the iterator throw provider.unavailable after the chunks before it", async (_what, body) => {
    fakeUpstream(() => ndjsonAnswer(cut(encoder.encode(body), 64)).response);
    const chunks: SpeechChunk[] = [];
    const failure = (async () => {
      for await (const chunk of (await elevenlabs.synthesize(speech("pcm_24000", { timestamps: true }), context())).chunks) chunks.push(chunk);
    })();
    const err = await apiErrorOf(failure, "provider.unavailable");
    expect(err.message).toBe("elevenlabs broke off the stream; try again shortly.");
    expect(chunks.map((c) => c.audio)).toEqual([pcmTone(20)]);
    expect(logs.lines()).not.toEqual([]);
  });
});

describe("accountVoices()", () => {
  /** GET /v1/voices as an account with premade voices and a few of its own answers it. */
  const VOICES_BODY = {
    voices: [
      {
        voice_id: RACHEL,
        name: "Rachel",
        category: "premade",
        labels: { accent: "american", description: "calm", age: "young", gender: "female", use_case: "narration" },
        description: null,
        preview_url: `https://storage.googleapis.com/eleven-public-prod/premade/voices/${RACHEL}/b4928a68-c03b-411f-8533-3d5c299fd451.mp3`,
        available_for_tiers: [],
        high_quality_base_model_ids: ["eleven_v2_flash", "eleven_flash_v2_5", "eleven_multilingual_v2"],
      },
      {
        voice_id: "Xq3mB8bT1tZ0kQdE2yR7",
        name: "Maya (cloned)",
        category: "cloned",
        labels: { accent: "british", gender: "female", age: "middle aged" },
        description: "",
        preview_url: "https://storage.googleapis.com/eleven-public-prod/database/user/u1/voices/Xq3mB8bT1tZ0kQdE2yR7/preview.mp3",
        verified_languages: [],
        is_owner: true,
      },
      {
        voice_id: "Kd8sJ2pQ9wLmN4vB7xYz",
        name: "Sofía",
        category: "professional",
        labels: { accent: "castilian", gender: "female", age: "young", language: "es" },
        description: "Warm Castilian narrator for audiobooks.",
        preview_url: "https://storage.googleapis.com/eleven-public-prod/database/user/u1/voices/Kd8sJ2pQ9wLmN4vB7xYz/preview.mp3",
        verified_languages: [{ language: "es", model_id: "eleven_multilingual_v2", accent: "castilian" }],
      },
      {
        voice_id: "Hm7nW2cR5tYp1LsK9vQe",
        name: "Jonas",
        category: "generated",
        labels: {},
        description: null,
        preview_url: null,
        verified_languages: [{ language: "de", model_id: "eleven_multilingual_v2", accent: "standard" }],
      },
      // The same voice listed twice, and an entry without an id, are both seen in the wild.
      { voice_id: "Hm7nW2cR5tYp1LsK9vQe", name: "Jonas", category: "generated", labels: {} },
      { name: "Half-deleted voice", category: "cloned" },
    ],
  };

  it("GETs /v1/voices with xi-api-key and returns the account's own voices, mapped and each once", async () => {
    const sent = fakeUpstream(() => jsonResponse(VOICES_BODY));
    const voices = await elevenlabs.accountVoices?.(context());
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe(`${BASE}/v1/voices`);
    expect(sent[0]?.method).toBe("GET");
    expect(sent[0]?.headers.get("xi-api-key")).toBe(KEY);
    expect(voices).toEqual([
      {
        id: "elevenlabs:Xq3mB8bT1tZ0kQdE2yR7",
        provider: "elevenlabs",
        voice: "Xq3mB8bT1tZ0kQdE2yR7",
        name: "Maya (cloned)",
        language: "en",
        description: "british, female, middle aged",
      },
      {
        id: "elevenlabs:Kd8sJ2pQ9wLmN4vB7xYz",
        provider: "elevenlabs",
        voice: "Kd8sJ2pQ9wLmN4vB7xYz",
        name: "Sofía",
        language: "es",
        description: "Warm Castilian narrator for audiobooks.",
      },
      { id: "elevenlabs:Hm7nW2cR5tYp1LsK9vQe", provider: "elevenlabs", voice: "Hm7nW2cR5tYp1LsK9vQe", name: "Jonas", language: "de", description: "" },
    ]);
  });

  it("joins a base URL with a path and a trailing slash", async () => {
    const sent = fakeUpstream(() => jsonResponse({ voices: [] }));
    expect(await elevenlabs.accountVoices?.(context(undefined, GATEWAY_CONFIG))).toEqual([]);
    expect(sent[0]?.url).toBe("https://gateway.fake-elevenlabs.test/v1/acct/gw/elevenlabs/v1/voices");
  });

  it("returns [] without asking when ElevenLabs is not configured", async () => {
    const sent = fakeUpstream(() => jsonResponse(VOICES_BODY));
    expect(await elevenlabs.accountVoices?.(context(undefined, UNCONFIGURED))).toEqual([]);
    expect(sent).toHaveLength(0);
  });

  it("an answer without a voices list is provider.unavailable", async () => {
    fakeUpstream(() => jsonResponse({ detail: "ok" }));
    await apiErrorOf(elevenlabs.accountVoices?.(context()) ?? Promise.resolve(), "provider.unavailable");
  });

  it("401 is provider.unavailable", async () => {
    fakeUpstream(() => jsonResponse({ detail: { status: "invalid_api_key", message: "Invalid API key" } }, 401));
    const err = await apiErrorOf(elevenlabs.accountVoices?.(context()) ?? Promise.resolve(), "provider.unavailable");
    expect(err.message).toBe(
      "elevenlabs did not accept this deployment's credentials (HTTP 401, upstream code: invalid_api_key); the operator of this deployment must check its account there.",
    );
  });
});

const LEAKY_MESSAGE = leakyMessage(KEY);

describe("the upstream's own words never reach the client", () => {
  it.each([
    ["older shape (detail.status)", { detail: { status: "max_character_limit_exceeded", message: LEAKY_MESSAGE } }],
    [
      "current shape (detail.code)",
      { detail: { type: "validation_error", code: "max_character_limit_exceeded", message: LEAKY_MESSAGE, request_id: "req_1" } },
    ],
  ])("a 400 naming an internal host, a private address, a URL and a credential is a fixed text with the code, %s", async (_shape, body) => {
    fakeUpstream(() => jsonResponse(body, 400));
    for (const call of [elevenlabs.synthesize(speech("mp3"), context()), elevenlabsProxy({ voiceId: RACHEL, query: {}, body: { text: "Hi" } }, context())]) {
      const err = await apiErrorOf(call, "provider.rejected");
      expect(err.message).toBe("elevenlabs refused the request as invalid (upstream code: max_character_limit_exceeded).");
      for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    }
    expect(logs.lines().some((line) => line.includes("could not route this request"))).toBe(true);
  });

  it("a 422 validation list echoes neither its message nor its field", async () => {
    fakeUpstream(() => jsonResponse({ detail: [{ loc: ["body", INTERNAL_HOST], msg: LEAKY_MESSAGE, type: "string_type" }] }, 422));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.rejected");
    expect(err.message).toBe("elevenlabs refused the request as unprocessable (upstream code: string_type).");
    for (const leak of LEAKS) expect(err.message).not.toContain(leak);
  });

  it.each(hostileCodes(KEY))("a status that is not a plain token (%s) is not echoed", async (_what, status) => {
    fakeUpstream(() => jsonResponse({ detail: { status, message: "Bad request." } }, 400));
    const err = await apiErrorOf(elevenlabs.synthesize(speech("mp3"), context()), "provider.rejected");
    expect(err.message).toBe("elevenlabs refused the request as invalid.");
    expect(err.message).not.toContain(status);
  });
});
