import { afterEach, describe, expect, it, vi } from "vitest";
import { concat } from "../src/lib/bytes";
import { deepgram, deepgramProxy, errorCodeOf, errorMessageOf } from "../src/providers/tts/deepgram";
import type { AudioFormat, SpeechChunk, SpeechRequest } from "../src/providers/tts/types";
import { VOICES } from "../src/providers/tts/voices";
import { parseWav, pcm16ToBytes, wavHeader } from "../src/providers/tts/wav";
import { CallerGone } from "../src/providers/upstream";
import { hostileCodes, LEAKS, leakyMessage } from "./helpers/leaks";
import {
  collect,
  deployment,
  type FakeBody,
  fakeUpstream,
  noAnswer,
  providerContext,
  sleep,
  trickle,
  typedErrors,
  unreachable,
  watchLogs,
} from "./helpers/upstream-harness";

/**
 * Deepgram Aura over REST against a fake upstream that speaks its wire format
 * (reference/upstreams.md §2), played through the provider test harness.
 */

const KEY = "dg-test-secret-0123456789";
const HOST = "fake-deepgram.test";
const SETTINGS = {
  DEEPGRAM_API_KEY: KEY,
  DEEPGRAM_BASE_URL: `https://${HOST}`,
  GROQ_API_KEY: "gsk_test_secret_0123456789",
  GROQ_BASE_URL: "https://fake-groq.test/openai/v1",
  TTS_FIRST_BYTE_TIMEOUT_MS: "200",
  TTS_STREAM_IDLE_TIMEOUT_MS: "300",
};
const CONFIG = deployment(SETTINGS);
const SLASHED_CONFIG = deployment({ ...SETTINGS, DEEPGRAM_BASE_URL: `https://${HOST}/` });
const UNCONFIGURED = deployment({ ...SETTINGS, DEEPGRAM_API_KEY: "" });

const FIRST_BYTE_MS = 200;
const IDLE_MS = 300;
const SPEAK = `https://${HOST}/v1/speak`;

afterEach(() => vi.restoreAllMocks());
// Upstream failures are logged; the key must not be, whatever happened.
const logs = watchLogs([KEY]);
const { apiErrorOf } = typedErrors([KEY, HOST]);

const context = (signal?: AbortSignal, config = CONFIG) => providerContext(config, signal);
const speech = (extra: Partial<SpeechRequest> = {}): SpeechRequest => ({ text: "Hello from Deepgram.", voice: "aura-2-thalia-en", format: "mp3", ...extra });

// ---------------------------------------------------------------------------------------------
// Deepgram's answers

const DEEPGRAM_HEADERS = {
  "dg-request-id": "5b3c7e4e-2f0a-4d5e-9c1b-8a7f6e5d4c3b",
  "dg-model-name": "aura-2-thalia-en",
  "dg-model-uuid": "ecb76e9d-f2db-4127-8060-79b05590d22f",
  "dg-char-count": "20",
  "dg-project-id": "3f2e1d0c-b9a8-4765-8432-10fedcba9876",
};

const MEDIA_TYPES: Record<AudioFormat, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  pcm_16000: "application/octet-stream",
  pcm_24000: "application/octet-stream",
};

function audioAnswer(fake: FakeBody, format: AudioFormat = "mp3"): Response {
  return new Response(fake.body, { headers: { "content-type": MEDIA_TYPES[format], ...DEEPGRAM_HEADERS } });
}

const jsonAnswer = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "dg-request-id": "req-err-1", ...headers } });

/** Deterministic bytes that look like what Deepgram sends: an MPEG frame header, then noise. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
/** An mp3 stream cut into uneven chunks: an MPEG-1 Layer III frame sync, then frame data. */
const MP3_CHUNKS = [new Uint8Array([0xff, 0xf3, 0x64, 0xc4, ...bytes(140, 1)]), bytes(417, 2), bytes(3, 3), bytes(1000, 4), bytes(77, 5)];

/** 24 kHz linear16: a 440 Hz tone, 1,200 samples. */
const TONE = Int16Array.from({ length: 1200 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)));

/** `bytes` cut at the given offsets. */
function cut(whole: Uint8Array, ...at: number[]): Uint8Array[] {
  const edges = [0, ...at, whole.length];
  return edges.slice(1).map((end, i) => whole.slice(edges[i], end));
}

// ---------------------------------------------------------------------------------------------

describe("catalogue", () => {
  it("is Deepgram, with its built-in Aura voices, four formats and no timings", () => {
    expect(deepgram.id).toBe("deepgram");
    expect(deepgram.name).toBe("Deepgram");
    expect(deepgram.formats).toEqual(["mp3", "wav", "pcm_16000", "pcm_24000"]);
    expect(deepgram.timings).toBe(false);
    expect(deepgram.voices).toEqual(VOICES.filter((v) => v.provider === "deepgram"));
    expect(deepgram.voices.map((v) => v.voice)).toContain("aura-2-thalia-en");
    expect(deepgram.voices.every((v) => v.id === `deepgram:${v.voice}`)).toBe(true);
  });

  it("is configured exactly when its key is set, and never calls out without one", async () => {
    expect(deepgram.configured(CONFIG)).toBe(true);
    expect(deepgram.configured(UNCONFIGURED)).toBe(false);
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    const err = await apiErrorOf(deepgram.synthesize(speech(), context(undefined, UNCONFIGURED)), "provider.not_configured");
    expect(err.status).toBe(503);
    expect(sent).toHaveLength(0);
  });
});

describe("the request", () => {
  it.each([
    ["mp3", `${SPEAK}?model=aura-2-thalia-en&encoding=mp3`],
    ["wav", `${SPEAK}?model=aura-2-thalia-en&encoding=linear16&container=wav&sample_rate=24000`],
    ["pcm_16000", `${SPEAK}?model=aura-2-thalia-en&encoding=linear16&container=none&sample_rate=16000`],
    ["pcm_24000", `${SPEAK}?model=aura-2-thalia-en&encoding=linear16&container=none&sample_rate=24000`],
  ] as const)("%s: POSTs {text} to /v1/speak with the model and an explicit encoding, with Token auth", async (format, url) => {
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS), format));
    await collect((await deepgram.synthesize(speech({ format }), context())).chunks);
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req?.url).toBe(url);
    expect(req?.method).toBe("POST");
    expect(req?.headers.get("authorization")).toBe(`Token ${KEY}`);
    expect(req?.headers.get("content-type")).toBe("application/json");
    expect(req?.body).toEqual({ text: "Hello from Deepgram." });
  });

  it("adds speed only when it is given, and sends another voice as the model", async () => {
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    await collect((await deepgram.synthesize(speech({ voice: "aura-2-celeste-es", format: "pcm_16000", speed: 1.25 }), context())).chunks);
    expect(sent[0]?.url).toBe(`${SPEAK}?model=aura-2-celeste-es&encoding=linear16&container=none&sample_rate=16000&speed=1.25`);
    const params = new URL(sent[0]?.url ?? "").searchParams;
    expect(params.get("speed")).toBe("1.25");
  });

  it("sends the text as JSON whatever it holds", async () => {
    const text = 'Say "hi" & 東京 😀\nnew line';
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    await collect((await deepgram.synthesize(speech({ text }), context())).chunks);
    expect(sent[0]?.body).toEqual({ text });
  });

  it("joins a base URL that ends with a slash without doubling it", async () => {
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    await collect((await deepgram.synthesize(speech(), context(undefined, SLASHED_CONFIG))).chunks);
    expect(sent[0]?.url).toBe(`${SPEAK}?model=aura-2-thalia-en&encoding=mp3`);
  });
});

describe("the audio", () => {
  it("mp3: hands the chunks on unchanged, in order, as audio/mpeg without timings", async () => {
    fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    const stream = await deepgram.synthesize(speech(), context());
    expect(stream.contentType).toBe("audio/mpeg");
    const chunks = await collect(stream.chunks);
    expect(chunks.map((c) => c.audio)).toEqual(MP3_CHUNKS);
    expect(chunks.every((c) => c.alignment === null)).toBe(true);
  });

  it("wav: Deepgram's own WAV (header split across chunks) passes through byte for byte", async () => {
    const wav = concat(wavHeader({ sampleRate: 24_000 }), pcm16ToBytes(TONE));
    fakeUpstream(() => audioAnswer(trickle(cut(wav, 10, 30, 47, 1001)), "wav"));
    const stream = await deepgram.synthesize(speech({ format: "wav" }), context());
    expect(stream.contentType).toBe("audio/wav");
    const audio = concat(...(await collect(stream.chunks)).map((c) => c.audio));
    expect(audio).toEqual(wav);
    const parsed = parseWav(audio);
    expect(parsed.sampleRate).toBe(24_000);
    expect(parsed.samples).toEqual(TONE);
  });

  it.each([
    ["pcm_16000", 16_000],
    ["pcm_24000", 24_000],
  ] as const)("%s: raw linear16 passes through unchanged, typed as PCM at %i Hz", async (format, rate) => {
    const pcm = pcm16ToBytes(TONE);
    // An odd cut splits a sample across chunks: bytes pass through, so it stays split and whole.
    fakeUpstream(() => audioAnswer(trickle(cut(pcm, 1, 801, 1600)), format));
    const stream = await deepgram.synthesize(speech({ format }), context());
    expect(stream.contentType).toBe(`audio/pcm;rate=${rate};encoding=signed-int;bits=16;channels=1;endianness=little`);
    const chunks = await collect(stream.chunks);
    expect(chunks.map((c) => c.audio.length)).toEqual([1, 800, 799, 800]);
    expect(concat(...chunks.map((c) => c.audio))).toEqual(pcm);
  });

  it("hands the first chunk on before the upstream has written its last", async () => {
    const fake = trickle(MP3_CHUNKS, { pauseMs: 40 });
    fakeUpstream(() => audioAnswer(fake));
    const chunks: SpeechChunk[] = [];
    let enqueuedAtFirst = -1;
    for await (const chunk of (await deepgram.synthesize(speech(), context())).chunks) {
      if (chunks.length === 0) enqueuedAtFirst = fake.enqueued();
      chunks.push(chunk);
    }
    expect(enqueuedAtFirst).toBeGreaterThanOrEqual(1);
    expect(enqueuedAtFirst).toBeLessThan(MP3_CHUNKS.length);
    expect(chunks).toHaveLength(MP3_CHUNKS.length);
  });

  it("synthesize resolves once Deepgram answered, before its audio is complete", async () => {
    const fake = trickle(MP3_CHUNKS, { pauseMs: 40 });
    fakeUpstream(() => audioAnswer(fake));
    const stream = await deepgram.synthesize(speech(), context());
    expect(fake.enqueued()).toBeLessThan(MP3_CHUNKS.length);
    await stream.chunks.return?.();
  });
});

describe("cancelling", () => {
  it("cancels the upstream body when the consumer stops early", async () => {
    const fake = trickle(MP3_CHUNKS, { pauseMs: 30 });
    fakeUpstream(() => audioAnswer(fake));
    for await (const chunk of (await deepgram.synthesize(speech(), context())).chunks) {
      expect(chunk.audio).toEqual(MP3_CHUNKS[0]);
      expect(fake.cancelled()).toBe(false);
      break;
    }
    expect(fake.cancelled()).toBe(true);
    const enqueued = fake.enqueued();
    await sleep(100);
    expect(fake.enqueued()).toBe(enqueued);
  });

  it("cancels the upstream body when the consumer gives the iterator back before reading", async () => {
    const fake = trickle(MP3_CHUNKS, { pauseMs: 30 });
    fakeUpstream(() => audioAnswer(fake));
    const { chunks } = await deepgram.synthesize(speech(), context());
    expect(fake.cancelled()).toBe(false);
    await chunks.return?.();
    expect(fake.cancelled()).toBe(true);
  });

  it("aborting the caller's signal aborts the upstream request and ends the iterator with CallerGone", async () => {
    const caller = new AbortController();
    const sent = fakeUpstream((req) => audioAnswer(trickle(MP3_CHUNKS, { pauseMs: 30, signal: req.signal })));
    const { chunks } = await deepgram.synthesize(speech(), context(caller.signal));
    expect((await chunks.next()).value?.audio).toEqual(MP3_CHUNKS[0]);
    expect(sent[0]?.signal?.aborted).toBe(false);
    caller.abort();
    expect(sent[0]?.signal?.aborted).toBe(true);
    await expect(chunks.next()).rejects.toBeInstanceOf(CallerGone);
    // The caller left: that is not Deepgram's failure, so nothing is logged as one.
    expect(logs.lines()).toEqual([]);
  });

  it("a caller already gone sends nothing", async () => {
    const caller = new AbortController();
    caller.abort();
    const sent = fakeUpstream(() => audioAnswer(trickle(MP3_CHUNKS)));
    await expect(deepgram.synthesize(speech(), context(caller.signal))).rejects.toBeInstanceOf(CallerGone);
    expect(sent).toHaveLength(0);
  });
});

describe("failures", () => {
  it("429 is provider.rate_limited with Retry-After", async () => {
    fakeUpstream(() =>
      jsonAnswer(
        { err_code: "TOO_MANY_REQUESTS", err_msg: "Too many requests. Please try again later", request_id: "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d" },
        429,
        {
          "retry-after": "3",
        },
      ),
    );
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "3" });
    expect(err.message).toBe("deepgram is rate limiting this deployment (upstream code: TOO_MANY_REQUESTS); retry in 3 s.");
  });

  it("400 in the category/message shape is provider.rejected with a fixed text and the category; the message goes to the log", async () => {
    const message = `Invalid JSON submitted (token ${KEY}); see https://${HOST}/docs/errors or ask support at ${HOST}.`;
    fakeUpstream(() =>
      jsonAnswer({ category: "INVALID_JSON", message, details: "expected value at line 1 column 1", request_id: "7d9f0c1e-2b3a-4c5d-8e6f-0a1b2c3d4e5f" }, 400),
    );
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.rejected");
    expect(err.status).toBe(400);
    expect(err.message).toBe("deepgram refused the request as invalid (upstream code: INVALID_JSON).");
    expect(String(logs.refusedDetail())).toContain("Invalid JSON submitted");
  });

  it("400 in the err_code/err_msg shape is provider.rejected; an err_code with a space is no code to echo", async () => {
    fakeUpstream(() =>
      jsonAnswer(
        { err_code: "Bad Request", err_msg: "No such model/version/tier combination found.", request_id: "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f" },
        400,
      ),
    );
    const err = await apiErrorOf(deepgram.synthesize(speech({ voice: "aura-2-nobody-en" }), context()), "provider.rejected");
    expect(err.message).toBe("deepgram refused the request as invalid.");
    expect(logs.refusedDetail()).toBe("No such model/version/tier combination found.");
  });

  it("401 INVALID_AUTH is provider.unavailable (503); err_msg goes to the log only", async () => {
    fakeUpstream(() => jsonAnswer({ err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: "11111111-2222-4333-8444-555555555555" }, 401));
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe(
      "deepgram did not accept this deployment's credentials (HTTP 401, upstream code: INVALID_AUTH); the operator of this deployment must check its account there.",
    );
    expect(logs.refusedDetail()).toBe("Invalid credentials.");
  });

  it("500 is provider.unavailable (503); message goes to the log only", async () => {
    fakeUpstream(() =>
      jsonAnswer(
        { category: "INTERNAL_SERVER_ERROR", message: "Something went wrong on our end.", details: "", request_id: "99999999-8888-4777-8666-555555555555" },
        500,
      ),
    );
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe("deepgram failed with a server error (HTTP 500, upstream code: INTERNAL_SERVER_ERROR); try again shortly.");
    expect(logs.refusedDetail()).toBe("Something went wrong on our end.");
  });

  it("reads both error shapes, and nothing from anything else", () => {
    expect(errorMessageOf({ err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: "x" })).toBe("Invalid credentials.");
    expect(errorMessageOf({ category: "INVALID_JSON", message: "Invalid JSON submitted.", details: "d", request_id: "x" })).toBe("Invalid JSON submitted.");
    expect(errorMessageOf({ err_msg: 42 })).toBeUndefined();
    expect(errorMessageOf("Bad Gateway")).toBeUndefined();
    expect(errorMessageOf(undefined)).toBeUndefined();
    expect(errorCodeOf({ err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: "x" })).toBe("INVALID_AUTH");
    expect(errorCodeOf({ category: "INVALID_JSON", message: "Invalid JSON submitted.", details: "d", request_id: "x" })).toBe("INVALID_JSON");
    expect(errorCodeOf({ err_code: 42 })).toBeUndefined();
    expect(errorCodeOf("Bad Gateway")).toBeUndefined();
  });

  it("a network failure is provider.unavailable", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED ${HOST}:443 (${KEY})`));
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.unavailable");
    expect(err.message).toBe("deepgram could not be reached; try again shortly.");
  });

  it("an upstream that never answers is provider.timeout after the first-byte timeout, and the request is aborted", async () => {
    const sent = fakeUpstream(noAnswer);
    const started = Date.now();
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.timeout");
    const elapsed = Date.now() - started;
    expect(err.status).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(FIRST_BYTE_MS - 10);
    expect(elapsed).toBeLessThan(FIRST_BYTE_MS + 1000);
    expect(sent[0]?.signal?.aborted).toBe(true);
  });

  it("audio that stalls longer than the idle timeout makes the iterator throw provider.timeout, and is cancelled", async () => {
    const fake = trickle(MP3_CHUNKS.slice(0, 2), { end: "hang" });
    fakeUpstream(() => audioAnswer(fake));
    const { chunks } = await deepgram.synthesize(speech(), context());
    expect((await chunks.next()).value?.audio).toEqual(MP3_CHUNKS[0]);
    expect((await chunks.next()).value?.audio).toEqual(MP3_CHUNKS[1]);
    const started = Date.now();
    const err = await apiErrorOf(chunks.next(), "provider.timeout");
    expect(err.message).toBe("deepgram did not answer in time; try again, or another model.");
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 10);
    expect(fake.cancelled()).toBe(true);
    expect(logs.lines()).not.toEqual([]);
  });

  it("a body that breaks off midway makes the iterator throw provider.unavailable after the audio before it", async () => {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        c.enqueue(MP3_CHUNKS[0]?.slice() ?? new Uint8Array(0));
      },
    });
    fakeUpstream(() => new Response(body, { headers: { "content-type": "audio/mpeg", ...DEEPGRAM_HEADERS } }));
    const { chunks } = await deepgram.synthesize(speech(), context());
    expect((await chunks.next()).value?.audio).toEqual(MP3_CHUNKS[0]);
    controller?.error(new Error("connection reset"));
    const err = await apiErrorOf(chunks.next(), "provider.unavailable");
    expect(err.message).toBe("deepgram broke off its answer; try again shortly.");
  });
});

const LEAKY_MESSAGE = leakyMessage(KEY);

describe("the upstream's own words never reach the client", () => {
  it.each([
    ["err_code/err_msg", { err_code: "UNSUPPORTED_MODEL", err_msg: LEAKY_MESSAGE, request_id: "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f" }, "UNSUPPORTED_MODEL"],
    [
      "category/message",
      { category: "UNSUPPORTED_MODEL", message: LEAKY_MESSAGE, details: LEAKY_MESSAGE, request_id: "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f" },
      "UNSUPPORTED_MODEL",
    ],
  ])("a 400 (%s shape) naming an internal host, a private address, a URL and a credential is a fixed text with the code", async (_shape, body, code) => {
    fakeUpstream(() => jsonAnswer(body, 400));
    for (const call of [deepgram.synthesize(speech(), context()), deepgramProxy({ text: "Hi", query: { model: "aura-2-thalia-en" } }, context())]) {
      const err = await apiErrorOf(call, "provider.rejected");
      expect(err.message).toBe(`deepgram refused the request as invalid (upstream code: ${code}).`);
      for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    }
    expect(String(logs.refusedDetail())).toContain("could not route this request");
  });

  it("413 has its own fixed text", async () => {
    fakeUpstream(() => jsonAnswer({ err_code: "PAYLOAD_TOO_LARGE", err_msg: LEAKY_MESSAGE, request_id: "x" }, 413));
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.rejected");
    expect(err.message).toBe("deepgram refused the request as too large (upstream code: PAYLOAD_TOO_LARGE).");
  });

  it.each(hostileCodes(KEY))("an err_code that is not a plain token (%s) is not echoed", async (_what, code) => {
    fakeUpstream(() => jsonAnswer({ err_code: code, err_msg: "Bad request.", request_id: "x" }, 400));
    const err = await apiErrorOf(deepgram.synthesize(speech(), context()), "provider.rejected");
    expect(err.message).toBe("deepgram refused the request as invalid.");
    expect(err.message).not.toContain(code);
  });
});
