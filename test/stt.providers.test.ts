import { afterEach, describe, expect, it, vi } from "vitest";
import { concat } from "../src/lib/bytes";
import { deepgram, listenPath, transcriptOf } from "../src/providers/stt/deepgram";
import { parseSttModel, STT_PROVIDERS, sttProvider } from "../src/providers/stt/index";
import { mock, readMockSpeech, unrecognised } from "../src/providers/stt/mock";
import { groq, openai } from "../src/providers/stt/openai";
import type { Pcm16, SttProvider, TranscriptionRequest } from "../src/providers/stt/types";
import { STT_PROVIDER_IDS } from "../src/providers/stt/types";
import { transcriptionWaits } from "../src/providers/stt/waits";
import { Resampler } from "../src/providers/tts/audio";
import { MOCK_SAMPLE_RATE, MOCK_VOICES, type MockVoice, synthesize } from "../src/providers/tts/mock-speech";
import { bytesToPcm16, monoWav, parseWav, pcm16ToBytes } from "../src/providers/tts/wav";
import { CallerGone } from "../src/providers/upstream";
import { LEAKS, leakyMessage } from "./helpers/leaks";
import { deployment, jsonResponse, providerContext, rejection, typedErrors, unreachable, watchLogs } from "./helpers/upstream-harness";

/**
 * The speech-to-text providers: the built-in mock reading back the mock voice (and nothing else),
 * and OpenAI, Groq and Deepgram against fake upstreams that speak their wire formats
 * (reference/voice.md §1.3-1.4), through the provider test harness.
 */

const OPENAI_KEY = "sk-test-stt-secret-0123456789";
const GROQ_KEY = "gsk_test_stt_secret_0123456789";
const DEEPGRAM_KEY = "dg-test-stt-secret-0123456789";
const OPENAI_HOST = "fake-openai-stt.test";
const GROQ_HOST = "fake-groq-stt.test";
const DEEPGRAM_HOST = "fake-deepgram-stt.test";
const SETTINGS = {
  OPENAI_API_KEY: OPENAI_KEY,
  OPENAI_BASE_URL: `https://${OPENAI_HOST}/v1`,
  GROQ_API_KEY: GROQ_KEY,
  GROQ_BASE_URL: `https://${GROQ_HOST}/openai/v1/`,
  DEEPGRAM_API_KEY: DEEPGRAM_KEY,
  DEEPGRAM_BASE_URL: `https://${DEEPGRAM_HOST}`,
  TTS_FIRST_BYTE_TIMEOUT_MS: "200",
  TTS_STREAM_IDLE_TIMEOUT_MS: "300",
};
const CONFIG = deployment(SETTINGS);
const UNCONFIGURED = deployment({ ...SETTINGS, OPENAI_API_KEY: "", GROQ_API_KEY: "", DEEPGRAM_API_KEY: "" });
const FIRST_BYTE_MS = 200;

const KEYS = [OPENAI_KEY, GROQ_KEY, DEEPGRAM_KEY];
afterEach(() => vi.restoreAllMocks());
// Upstream failures are logged; no key may be, whatever happened.
const logs = watchLogs(KEYS);
const { apiErrorOf } = typedErrors([...KEYS, OPENAI_HOST, GROQ_HOST, DEEPGRAM_HOST]);

const context = (config = CONFIG, signal?: AbortSignal) => providerContext(config, signal);

// ---------------------------------------------------------------------------------------------
// Audio

const joinPcm = (parts: Int16Array[]) => bytesToPcm16(concat(...parts.map(pcm16ToBytes)));

/** The mock voice saying `text`, at its own 24 kHz or resampled to `rate`. */
function mockSpeech(text: string, voice: MockVoice, rate = MOCK_SAMPLE_RATE): Pcm16 {
  const pcm = joinPcm([...synthesize(text, voice)].map((chunk) => chunk.pcm));
  if (rate === MOCK_SAMPLE_RATE) return { samples: pcm, sampleRate: rate };
  const resampler = new Resampler(MOCK_SAMPLE_RATE, rate);
  return { samples: bytesToPcm16(concat(resampler.push(pcm16ToBytes(pcm)), resampler.flush())), sampleRate: rate };
}

/** A deterministic generator, so noise is the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

const silence = (seconds: number, rate: number): Pcm16 => ({ samples: new Int16Array(Math.round(seconds * rate)), sampleRate: rate });

function whiteNoise(seconds: number, rate: number, amplitude: number, seed = 1): Pcm16 {
  const next = random(seed);
  return { samples: Int16Array.from({ length: Math.round(seconds * rate) }, () => Math.round((next() * 2 - 1) * amplitude)), sampleRate: rate };
}

/** Two-pole resonator: the formant filter of a crude voice. */
function resonate(x: Float64Array, hz: number, bandwidth: number, rate: number): Float64Array {
  const r = Math.exp((-Math.PI * bandwidth) / rate);
  const [c, d] = [2 * r * Math.cos((2 * Math.PI * hz) / rate), -r * r];
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (x[i] ?? 0) + c * (y[i - 1] ?? 0) + d * (y[i - 2] ?? 0);
  return y;
}

/**
 * Something like a recorded voice: syllables of a pulse train at a moving pitch through three
 * formants, with short pauses and a faint background hiss. Bursts with pauses between them, as
 * mock speech has, but not its tones.
 */
function voiceLike(seconds: number, rate: number, seed: number): Pcm16 {
  const next = random(seed);
  const out = new Float64Array(Math.round(seconds * rate));
  let phase = 0;
  for (let at = 0; at < out.length; ) {
    const length = Math.round((0.12 + next() * 0.2) * rate);
    const f0 = 90 + next() * 120;
    const source = new Float64Array(length);
    for (let k = 0; k < length; k++) {
      phase += f0 / rate;
      if (phase >= 1) {
        phase -= 1;
        source[k] = 1;
      }
    }
    const formants = [
      resonate(source, 300 + next() * 500, 80, rate),
      resonate(source, 900 + next() * 1600, 120, rate),
      resonate(source, 2400 + next() * 700, 200, rate),
    ];
    for (let k = 0; k < length && at + k < out.length; k++) {
      out[at + k] = ((formants[0]?.[k] ?? 0) + 0.6 * (formants[1]?.[k] ?? 0) + 0.3 * (formants[2]?.[k] ?? 0)) * Math.sin((Math.PI * k) / length);
    }
    at += length + Math.round((0.02 + next() * 0.1) * rate);
  }
  const peak = out.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  return { samples: Int16Array.from(out, (v) => Math.round(20000 * (v / peak) + 200 * (next() * 2 - 1))), sampleRate: rate };
}

/** A short, quiet-ish tone: the audio the upstream tests send. */
const TONE: Pcm16 = {
  samples: Int16Array.from({ length: 4000 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 16000))),
  sampleRate: 16000,
};

const request = (extra: Partial<TranscriptionRequest> = {}): TranscriptionRequest => ({ audio: TONE, model: "default", ...extra });

// ---------------------------------------------------------------------------------------------
// Catalogue

describe("the catalogue", () => {
  it("lists mock, openai, groq, deepgram and workers-ai in that order, each found by its id", () => {
    expect(STT_PROVIDERS.map((p) => p.id)).toEqual(["mock", "openai", "groq", "deepgram", "workers-ai"]);
    expect(STT_PROVIDERS.map((p) => p.id)).toEqual([...STT_PROVIDER_IDS]);
    for (const provider of STT_PROVIDERS) expect(sttProvider(provider.id)).toBe(provider);
    expect(sttProvider("elevenlabs")).toBeUndefined();
    expect(sttProvider("constructor")).toBeUndefined();
  });

  it("offers each provider's models, its default first", () => {
    expect(mock.models).toEqual(["default"]);
    expect(openai.models).toEqual(["gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1"]);
    expect(groq.models).toEqual(["whisper-large-v3-turbo", "whisper-large-v3"]);
    expect(deepgram.models).toEqual(["nova-3", "nova-2"]);
  });

  it("parseSttModel accepts provider:model for every offered model", () => {
    expect(parseSttModel("openai:whisper-1")).toEqual({ provider: openai, model: "whisper-1" });
    expect(parseSttModel("deepgram:nova-3")).toEqual({ provider: deepgram, model: "nova-3" });
    expect(parseSttModel("mock:default")).toEqual({ provider: mock, model: "default" });
    for (const provider of STT_PROVIDERS) {
      for (const model of provider.models) expect(parseSttModel(`${provider.id}:${model}`)).toEqual({ provider, model });
    }
  });

  it.each([
    ["an unknown provider", "elevenlabs:scribe_v1"],
    ["a model of another provider", "groq:whisper-1"],
    ["an unknown model", "openai:gpt-4o"],
    ["no model", "openai:"],
    ["no provider", ":whisper-1"],
    ["no colon", "whisper-1"],
    ["a bare provider", "deepgram"],
    ["the empty string", ""],
    ["another case", "OpenAI:whisper-1"],
    ["a padded value", " mock:default"],
    ["an extra part", "mock:default:x"],
    ["an inherited name", "constructor:default"],
  ])("parseSttModel rejects %s", (_what, value) => {
    expect(parseSttModel(value)).toBeUndefined();
  });

  it("the mock is always configured; the others exactly when their key is set", () => {
    expect(mock.configured(UNCONFIGURED)).toBe(true);
    for (const provider of [openai, groq, deepgram]) {
      expect(provider.configured(CONFIG)).toBe(true);
      expect(provider.configured(UNCONFIGURED)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The mock

const SENTENCE = "Hello there, how are you today? I'm fine: thanks for asking!";

describe("the mock", () => {
  it.each(MOCK_VOICES.map((voice) => [voice.id, voice] as const))(
    "reads the %s voice's sentence exactly, at 24 kHz and resampled to 16 kHz",
    async (_id, voice) => {
      for (const rate of [MOCK_SAMPLE_RATE, 16_000]) {
        const audio = mockSpeech(SENTENCE, voice, rate);
        expect(audio.sampleRate).toBe(rate);
        expect(await mock.transcribe(request({ audio }), context())).toEqual({ text: SENTENCE, language: null });
      }
    },
  );

  it("reads the mock TTS provider's own audio, punctuation, digits and accents included", async () => {
    const text = "Ça coûte 3,50 € — d'accord?";
    const audio = mockSpeech(text, MOCK_VOICES[1] as MockVoice, 16_000);
    expect((await mock.transcribe(request({ audio }), context())).text).toBe(text);
  });

  it("does not need the audio to start or end with the speech", async () => {
    const speech = mockSpeech("Still there?", MOCK_VOICES[0] as MockVoice);
    const padded = joinPcm([silence(0.7, MOCK_SAMPLE_RATE).samples, speech.samples, silence(1.3, MOCK_SAMPLE_RATE).samples]);
    expect((await mock.transcribe(request({ audio: { samples: padded, sampleRate: MOCK_SAMPLE_RATE } }), context())).text).toBe("Still there?");
  });

  it.each([
    ["1.2 s of silence at 24 kHz", silence(1.2, 24_000), "1.2"],
    ["2.5 s of silence at 16 kHz", silence(2.5, 16_000), "2.5"],
    ["no audio at all", silence(0, 16_000), "0.0"],
    ["1.2 s of white noise at 24 kHz", whiteNoise(1.2, 24_000, 12_000), "1.2"],
    ["3 s of faint white noise at 16 kHz", whiteNoise(3, 16_000, 40, 2), "3.0"],
    ["0.75 s of full-scale white noise at 16 kHz", whiteNoise(0.75, 16_000, 32_767, 3), "0.8"],
    ["audio below 8 kHz", { samples: new Int16Array(8000), sampleRate: 8000 - 1 }, "1.0"],
  ])("hears %s as unrecognised audio of its duration", async (_what, audio, seconds) => {
    expect(await mock.transcribe(request({ audio }), context())).toEqual({ text: `[unrecognised audio, ${seconds} s]`, language: null });
  });

  it("hears something like a recorded voice as unrecognised audio, whatever its syllables", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const audio = voiceLike(1 + (seed % 4) * 0.5, seed % 2 ? 16_000 : 24_000, seed);
      expect(readMockSpeech(audio)).toBeUndefined();
      expect((await mock.transcribe(request({ audio }), context())).text).toBe(unrecognised(audio));
    }
  });

  it("says the placeholder with one decimal of the seconds", () => {
    expect(unrecognised({ samples: new Int16Array(19_200), sampleRate: 16_000 })).toBe("[unrecognised audio, 1.2 s]");
    expect(unrecognised({ samples: new Int16Array(1_000), sampleRate: 24_000 })).toBe("[unrecognised audio, 0.0 s]");
  });

  it("stops with CallerGone when the caller has gone", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await rejection(mock.transcribe(request(), context(CONFIG, controller.signal)))).toBeInstanceOf(CallerGone);
  });
});

// ---------------------------------------------------------------------------------------------
// Fake upstreams

/** A request as the upstream saw it, its body still to be read. */
interface Received {
  url: URL;
  request: Request;
  signal: AbortSignal | undefined;
}

/** Intercepts fetch; `answer` plays the upstream. The harness's fakeUpstream reads JSON bodies only, these are files. */
function fakeUpstream(answer: (received: Received) => Response | Promise<Response>): Received[] {
  const received: Received[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const seen = { url: new URL(request.url), request, signal: init?.signal ?? undefined };
    received.push(seen);
    return answer(seen);
  });
  return received;
}

/** An upstream that never answers; like a real fetch, aborting the request rejects it. */
const noAnswer = ({ signal }: Received) => new Promise<Response>((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));

const ascii = (bytes: Uint8Array, from: number, length = 4) => String.fromCharCode(...bytes.subarray(from, from + length));

/** The 44-byte header is the canonical PCM one: mono, 16-bit, at the audio's rate, with true sizes. */
function expectWav(bytes: Uint8Array, audio: Pcm16): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(ascii(bytes, 0)).toBe("RIFF");
  expect(view.getUint32(4, true)).toBe(bytes.length - 8);
  expect(ascii(bytes, 8)).toBe("WAVE");
  expect(ascii(bytes, 12)).toBe("fmt ");
  expect(view.getUint16(20, true)).toBe(1); // PCM
  expect(view.getUint16(22, true)).toBe(1); // mono
  expect(view.getUint32(24, true)).toBe(audio.sampleRate);
  expect(view.getUint16(34, true)).toBe(16);
  expect(ascii(bytes, 36)).toBe("data");
  expect(view.getUint32(40, true)).toBe(audio.samples.length * 2);
  expect(bytes.length).toBe(44 + audio.samples.length * 2);
  expect(parseWav(bytes).samples).toEqual(audio.samples);
}

/** The form's `file` part, which must be a file (with a name and type), not a text field. */
function fileOf(form: FormData): File {
  const part: unknown = form.get("file");
  expect(part).toBeInstanceOf(File);
  return part as File;
}

// ---------------------------------------------------------------------------------------------
// OpenAI and Groq

const OPENAI_HEADERS = { "x-request-id": "req_0123456789abcdef" };

const openAiShaped = [
  { provider: openai, key: OPENAI_KEY, url: `https://${OPENAI_HOST}/v1/audio/transcriptions`, model: "gpt-4o-mini-transcribe" },
  // Its base URL ends with a slash: the path is joined without a double one.
  { provider: groq, key: GROQ_KEY, url: `https://${GROQ_HOST}/openai/v1/audio/transcriptions`, model: "whisper-large-v3-turbo" },
] as const;

describe.each(openAiShaped)("$provider.name", ({ provider, key, url, model }) => {
  it("posts the audio as a WAV file in a multipart form, with the model, the language and json, under its Bearer key", async () => {
    const received = fakeUpstream(() => jsonResponse({ text: " Hello from the fake.", usage: { type: "duration", seconds: 1 } }, 200, OPENAI_HEADERS));
    const result = await provider.transcribe(request({ model, language: "en" }), context());
    expect(result).toEqual({ text: "Hello from the fake.", language: null });

    expect(received).toHaveLength(1);
    const { request: sent } = received[0] as Received;
    expect(sent.method).toBe("POST");
    expect(sent.url).toBe(url);
    expect(sent.headers.get("authorization")).toBe(`Bearer ${key}`);
    expect(sent.headers.get("content-type")).toMatch(/^multipart\/form-data; boundary=/);

    // Read as bytes: the body is binary (the WAV), and only its part headers are compared.
    const raw = new TextDecoder().decode(await sent.clone().arrayBuffer());
    expect(raw).toMatch(/Content-Disposition: form-data; name="file"; filename="audio\.wav"\r\nContent-Type: audio\/wav\r\n/);
    const form = await sent.formData();
    expect([...form.keys()].sort()).toEqual(["file", "language", "model", "response_format"]);
    expect(form.get("model")).toBe(model);
    expect(form.get("language")).toBe("en");
    expect(form.get("response_format")).toBe("json");
    const file = fileOf(form);
    expect(file.name).toBe("audio.wav");
    expect(file.type).toBe("audio/wav");
    expectWav(new Uint8Array(await file.arrayBuffer()), TONE);
  });

  it("in a conversation (a stream): nothing is sent while the user speaks, then one request with the whole utterance", async () => {
    const received = fakeUpstream(() => jsonResponse({ text: " Streamed." }, 200, OPENAI_HEADERS));
    const events = { interim: () => {}, speechStarted: () => {}, endOfTurn: () => {}, error: () => {} };
    const session = provider.stream({ model, sampleRate: TONE.sampleRate, language: "en" }, events, context());
    const half = TONE.samples.length >> 1;
    session.append(TONE.samples.subarray(0, half));
    session.append(TONE.samples.subarray(half));
    expect(received).toHaveLength(0);
    expect(await session.finish()).toEqual({ text: "Streamed.", language: null });
    expect(received).toHaveLength(1);
    const form = await (received[0] as Received).request.formData();
    expect(form.get("model")).toBe(model);
    expectWav(new Uint8Array(await fileOf(form).arrayBuffer()), TONE);
    session.close();
  });

  it("sends no language when the caller does not know it, and the file at the audio's own rate", async () => {
    const audio = mockSpeech("Hi.", MOCK_VOICES[2] as MockVoice);
    const received = fakeUpstream(() => jsonResponse({ text: "Hi." }));
    expect(await provider.transcribe(request({ model, audio }), context())).toEqual({ text: "Hi.", language: null });
    const form = await (received[0] as Received).request.formData();
    expect(form.has("language")).toBe(false);
    expectWav(new Uint8Array(await fileOf(form).arrayBuffer()), audio);
  });

  it("an empty text is an empty transcript, not a failure", async () => {
    fakeUpstream(() => jsonResponse({ text: "" }));
    expect(await provider.transcribe(request({ model }), context())).toEqual({ text: "", language: null });
  });

  it("reads the 401 of OpenAI's error shape as provider.unavailable, its code echoed and its words only logged", async () => {
    fakeUpstream(() =>
      jsonResponse({ error: { message: `Incorrect API key provided: ${key}.`, type: "invalid_request_error", code: "invalid_api_key" } }, 401),
    );
    const err = await apiErrorOf(provider.transcribe(request({ model }), context()), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe(
      `${provider.id} did not accept this deployment's credentials (HTTP 401, upstream code: invalid_api_key); the operator of this deployment must check its account there.`,
    );
    expect(String(logs.refusedDetail())).toContain("Incorrect API key provided");
  });
});

// ---------------------------------------------------------------------------------------------
// Deepgram

/** A prerecorded answer as Deepgram gives one (trimmed of its word timings). */
const deepgramAnswer = (transcript: string, detected?: string) => ({
  metadata: { request_id: "5b3c7e4e-2f0a-4d5e-9c1b-8a7f6e5d4c3b", duration: 0.25, channels: 1, models: ["30089e05-99d1-4376-b32e-c263170674af"] },
  results: {
    channels: [
      {
        ...(detected === undefined ? {} : { detected_language: detected, language_confidence: 0.98 }),
        alternatives: [{ transcript, confidence: 0.99, words: [] }],
      },
    ],
  },
});

describe("Deepgram", () => {
  it("posts the WAV as the body with audio/wav, the model, smart formatting and the language, under its Token key", async () => {
    const received = fakeUpstream(() => jsonResponse(deepgramAnswer("Hello from the fake.")));
    const result = await deepgram.transcribe(request({ model: "nova-3", language: "de" }), context());
    expect(result).toEqual({ text: "Hello from the fake.", language: null });

    const { url, request: sent } = received[0] as Received;
    expect(sent.method).toBe("POST");
    expect(`${url.origin}${url.pathname}`).toBe(`https://${DEEPGRAM_HOST}/v1/listen`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ model: "nova-3", smart_format: "true", language: "de" });
    expect(sent.headers.get("authorization")).toBe(`Token ${DEEPGRAM_KEY}`);
    expect(sent.headers.get("content-type")).toBe("audio/wav");
    expectWav(new Uint8Array(await sent.arrayBuffer()), TONE);
  });

  it("asks Deepgram to detect the language when the caller does not know it, and says what it detected", async () => {
    const received = fakeUpstream(() => jsonResponse(deepgramAnswer("Hola, ¿qué tal?", "es")));
    expect(await deepgram.transcribe(request({ model: "nova-2" }), context())).toEqual({ text: "Hola, ¿qué tal?", language: "es" });
    expect(Object.fromEntries((received[0] as Received).url.searchParams)).toEqual({ model: "nova-2", smart_format: "true", detect_language: "true" });
  });

  it("listenPath encodes what it is given", () => {
    expect(listenPath(request({ model: "nova-3", language: "pt-BR" }))).toBe("/v1/listen?model=nova-3&smart_format=true&language=pt-BR");
    expect(listenPath(request({ model: "a b&c" }))).toBe("/v1/listen?model=a+b%26c&smart_format=true&detect_language=true");
  });

  it("reads the transcript and a language tag only where Deepgram puts them", () => {
    expect(transcriptOf(deepgramAnswer(" Hi. ", "en-US"))).toEqual({ text: "Hi.", language: "en-US" });
    expect(transcriptOf(deepgramAnswer("", "en"))).toEqual({ text: "", language: "en" });
    expect(transcriptOf(deepgramAnswer("Hi.", "english, probably"))).toEqual({ text: "Hi.", language: null });
    expect(transcriptOf(deepgramAnswer("Hi.", `en-${"x".repeat(20)}`))).toEqual({ text: "Hi.", language: null });
    expect(transcriptOf({ results: { channels: [{ alternatives: [{ transcript: 42 }] }] } })).toBeUndefined();
    expect(transcriptOf({ results: { channels: [] } })).toBeUndefined();
    expect(transcriptOf({ results: {} })).toBeUndefined();
    expect(transcriptOf([])).toBeUndefined();
  });

  it("reads the 401 of Deepgram's error shape as provider.unavailable, its code echoed and its words only logged", async () => {
    fakeUpstream(() => jsonResponse({ err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: "x" }, 401, { "dg-request-id": "x" }));
    const err = await apiErrorOf(deepgram.transcribe(request({ model: "nova-3" }), context()), "provider.unavailable");
    expect(err.message).toBe(
      "deepgram did not accept this deployment's credentials (HTTP 401, upstream code: INVALID_AUTH); the operator of this deployment must check its account there.",
    );
    expect(logs.refusedDetail()).toBe("Invalid credentials.");
  });
});

// ---------------------------------------------------------------------------------------------
// Failures, the same for every upstream

const upstreams: { provider: SttProvider; model: string; key: string; host: string; error: (message: string, code: string) => unknown }[] = [
  {
    provider: openai,
    model: "whisper-1",
    key: OPENAI_KEY,
    host: OPENAI_HOST,
    error: (message, code) => ({ error: { message, type: "invalid_request_error", code } }),
  },
  { provider: groq, model: "whisper-large-v3", key: GROQ_KEY, host: GROQ_HOST, error: (message, code) => ({ error: { message, type: code } }) },
  {
    provider: deepgram,
    model: "nova-3",
    key: DEEPGRAM_KEY,
    host: DEEPGRAM_HOST,
    error: (message, code) => ({ err_code: code, err_msg: message, request_id: "x" }),
  },
];

describe.each(upstreams)("$provider.name failing", ({ provider, model, key, host, error }) => {
  const transcribe = (config = CONFIG) => provider.transcribe(request({ model }), context(config));

  it("not configured is provider.not_configured, and nothing is sent", async () => {
    const received = fakeUpstream(() => jsonResponse({ text: "never" }));
    const err = await apiErrorOf(transcribe(UNCONFIGURED), "provider.not_configured");
    expect(err.status).toBe(503);
    expect(err.message).toContain(`${provider.name} is not configured on this deployment`);
    expect(received).toHaveLength(0);
  });

  it("401 is provider.unavailable, the key in its words never repeated", async () => {
    fakeUpstream(() => jsonResponse(error(`Invalid key ${key} for ${host}`, "invalid_api_key"), 401));
    const err = await apiErrorOf(transcribe(), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toContain("(HTTP 401");
  });

  it("429 is provider.rate_limited with its Retry-After", async () => {
    fakeUpstream(() => jsonResponse(error("Rate limit reached for audio seconds per hour.", "rate_limit_exceeded"), 429, { "retry-after": "7" }));
    const err = await apiErrorOf(transcribe(), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "7" });
    expect(err.message).toBe(`${provider.id} is rate limiting this deployment (upstream code: rate_limit_exceeded); retry in 7 s.`);
  });

  it("500 is provider.unavailable", async () => {
    fakeUpstream(() => new Response("Internal Server Error", { status: 500 }));
    const err = await apiErrorOf(transcribe(), "provider.unavailable");
    expect(err.message).toBe(`${provider.id} failed with a server error (HTTP 500); try again shortly.`);
  });

  it("a 400 naming an internal host, an address, a URL and a credential is provider.rejected in a fixed text", async () => {
    fakeUpstream(() => jsonResponse(error(leakyMessage(key), "invalid_audio"), 400));
    const err = await apiErrorOf(transcribe(), "provider.rejected");
    expect(err.message).toBe(`${provider.id} refused the request as invalid (upstream code: invalid_audio).`);
    for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    expect(String(logs.refusedDetail())).toContain("could not route this request");
  });

  it.each([
    ["not JSON", () => new Response("<html>Bad Gateway</html>", { headers: { "content-type": "text/html" } })],
    ["JSON without a transcript", () => jsonResponse({ transcript: "in the wrong place" })],
    ["a JSON string", () => jsonResponse("Hello")],
  ])("a 200 whose body is %s is provider.unavailable", async (_what, answer) => {
    fakeUpstream(answer);
    const err = await apiErrorOf(transcribe(), "provider.unavailable");
    expect(err.message).toBe(`${provider.id} answered a body that could not be read; try again shortly.`);
  });

  it("no answer within the first-byte timeout is provider.timeout, and the request is aborted", async () => {
    const received = fakeUpstream(noAnswer);
    const started = Date.now();
    const err = await apiErrorOf(transcribe(), "provider.timeout");
    expect(err.status).toBe(503);
    // The speech settings' first-byte wait, and a second for the (under 10 s of) audio: transcriptionWaits.
    expect(Date.now() - started).toBeGreaterThanOrEqual(FIRST_BYTE_MS + 1000 - 10);
    expect(received[0]?.signal?.aborted).toBe(true);
    expect(logs.lines().join("\n")).toContain("upstream timed out");
  });

  it("a network failure naming the key and host is provider.unavailable", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED ${host}:443 (${key})`));
    const err = await apiErrorOf(transcribe(), "provider.unavailable");
    expect(err.message).toBe(`${provider.id} could not be reached; try again shortly.`);
  });

  it("the caller going away while it waits is CallerGone, not an error of the provider", async () => {
    const controller = new AbortController();
    const received = fakeUpstream(noAnswer);
    const pending = provider.transcribe(request({ model }), context(CONFIG, controller.signal));
    await vi.waitFor(() => expect(received).toHaveLength(1));
    controller.abort();
    expect(await rejection(pending)).toBeInstanceOf(CallerGone);
  });
});

describe("transcriptionWaits", () => {
  it("adds a second to the first-byte wait for every 10 s of audio, started or whole", () => {
    const audio = (seconds: number): Pcm16 => ({ samples: new Int16Array(seconds * 16_000), sampleRate: 16_000 });
    expect(transcriptionWaits(CONFIG, audio(0)).firstByteTimeoutMs).toBe(FIRST_BYTE_MS);
    expect(transcriptionWaits(CONFIG, audio(10)).firstByteTimeoutMs).toBe(FIRST_BYTE_MS + 1000);
    expect(transcriptionWaits(CONFIG, audio(25)).firstByteTimeoutMs).toBe(FIRST_BYTE_MS + 3000);
    expect(transcriptionWaits(CONFIG, audio(780)).firstByteTimeoutMs).toBe(FIRST_BYTE_MS + 78_000);
  });
});

describe("monoWav", () => {
  it("is the canonical header and the samples, little-endian", () => {
    const audio: Pcm16 = { samples: Int16Array.from([0, 1, -1, 32767, -32768]), sampleRate: 22_050 };
    const bytes = monoWav(audio.samples, audio.sampleRate);
    expectWav(bytes, audio);
    expect([...bytes.subarray(44)]).toEqual([0, 0, 1, 0, 255, 255, 255, 127, 0, 128]);
  });
});
