import { afterEach, describe, expect, it, vi } from "vitest";
import { concat } from "../src/lib/bytes";
import { openAiErrorMessage as errorMessageOf } from "../src/providers/openai-errors";
import { Resampler } from "../src/providers/tts/audio";
import { ARABIC_MODEL, ENGLISH_MODEL, groq, groqProxy, MAX_INPUT_CHARS, splitForGroq } from "../src/providers/tts/groq";
import type { SpeechChunk, SpeechRequest } from "../src/providers/tts/types";
import { VOICES } from "../src/providers/tts/voices";
import { bytesToPcm16, parseWav, pcm16ToBytes, wavHeader } from "../src/providers/tts/wav";
import { CallerGone } from "../src/providers/upstream";
import { hostileCodes, LEAKS, leakyMessage } from "./helpers/leaks";
import {
  deployment,
  type FakeBody,
  fakeUpstream,
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
 * Groq's Orpheus speech against a fake upstream that speaks its wire format (reference/upstreams.md
 * §3): real WAV files cut into awkward chunks, OpenAI-shaped errors, played through the provider
 * test harness.
 */

const KEY = "gsk_test_secret_0123456789";
const HOST = "fake-groq.test";
const SETTINGS = {
  DEEPGRAM_API_KEY: "dg-test-secret-0123456789",
  DEEPGRAM_BASE_URL: "https://fake-deepgram.test",
  GROQ_API_KEY: KEY,
  GROQ_BASE_URL: `https://${HOST}/openai/v1`,
  TTS_FIRST_BYTE_TIMEOUT_MS: "200",
  TTS_STREAM_IDLE_TIMEOUT_MS: "300",
};
const CONFIG = deployment(SETTINGS);
const UNCONFIGURED = deployment({ ...SETTINGS, GROQ_API_KEY: "" });
const SPEECH_URL = `https://${HOST}/openai/v1/audio/speech`;

afterEach(() => vi.restoreAllMocks());
// Upstream failures are logged; the key must not be, whatever happened.
const logs = watchLogs([KEY]);
const { apiErrorOf } = typedErrors([KEY, HOST]);

const context = (signal?: AbortSignal, config = CONFIG) => providerContext(config, signal);
const speech = (extra: Partial<SpeechRequest> = {}): SpeechRequest => ({ text: "Hello from Groq.", voice: "troy", format: "wav", ...extra });

// ---------------------------------------------------------------------------------------------
// Texts

/** Words without any sentence end or abbreviation, `length` characters or a little fewer. */
const filler = (length: number) => "and then some more words follow ".repeat(20).slice(0, length).trim();

/** 946 characters: abbreviations, decimals, ! and ?, and one sentence longer than the limit. */
const LONG_TEXT = [
  "Good morning, and welcome to the clinic.",
  "Dr. Alvarez will see you shortly; she asked me to go over a few things first.",
  "Your last reading was 3.5 mmol/L, which is a little high, e.g. after a large meal it can reach 7.8 or more.",
  "Please keep taking the tablets twice a day!",
  "Did you notice any side effects, such as headaches, dizziness, or trouble sleeping?",
  "If so, tell Mr. Okafor at the front desk and he will note it in your file before the appointment begins.",
  "We also need to update your address, your phone number, your emergency contact, your insurance details and your preferred pharmacy " +
    "because several of these have changed since your previous visit and the records must be accurate before any new prescription can be issued today.",
  "Oh, and one more thing: bring your glucose meter, version 2.1 or later, so we can download the last 14 days of readings.",
  "The whole visit should take about 20 minutes.",
  "Thank you for your patience.",
  "See you soon.",
].join("\n");

/**
 * Its parts: sentences packed while they fit; the 279-character sentence cut at its last space
 * within the limit, its tail packed with the next sentence.
 */
const LONG_PARTS = [
  "Good morning, and welcome to the clinic. Dr. Alvarez will see you shortly; she asked me to go over a few things first.",
  "Your last reading was 3.5 mmol/L, which is a little high, e.g. after a large meal it can reach 7.8 or more. Please keep taking the tablets twice a day!",
  "Did you notice any side effects, such as headaches, dizziness, or trouble sleeping? If so, tell Mr. Okafor at the front desk and he will note it in your file before the appointment begins.",
  "We also need to update your address, your phone number, your emergency contact, your insurance details and your preferred pharmacy because several of these have changed since your previous visit and",
  "the records must be accurate before any new prescription can be issued today. Oh, and one more thing: bring your glucose meter, version 2.1 or later, so we can download the last 14 days of readings.",
  "The whole visit should take about 20 minutes. Thank you for your patience. See you soon.",
];

/** Three sentences of about 150 characters: no two fit in one part, so each is a part. */
const THREE = [`First, ${filler(140)} one.`, `Second, ${filler(140)} two.`, `Third, ${filler(140)} three.`];
const THREE_TEXT = THREE.join(" ");

// ---------------------------------------------------------------------------------------------
// Audio

/** A tone, as Orpheus would speak a part: each part gets its own pitch and length, so order shows. */
function tone(samples: number, hz: number, rate: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)));
}
const PART_PCM = (i: number, rate = 24_000) => tone(((2400 + 111 * i) * rate) / 24_000, 220 * (i + 1), rate);

const joinPcm = (parts: Int16Array[]) => bytesToPcm16(concat(...parts.map(pcm16ToBytes)));

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** A LIST/INFO chunk naming the encoder, as ffmpeg writes one between "fmt " and "data". */
function listChunk(): Uint8Array {
  const software = ascii("Lavf61.7.100\0"); // 13 bytes: odd, so the subchunk is padded
  const isft = concat(ascii("ISFT"), u32(software.length), software, new Uint8Array(1));
  const info = concat(ascii("INFO"), isft);
  return concat(ascii("LIST"), u32(info.length), info);
}

/** A real WAV file: the 44-byte canonical header with true sizes, or with a LIST chunk before the data. */
function wavFile(samples: Int16Array, rate = 24_000, options: { list?: boolean } = {}): Uint8Array {
  const pcm = pcm16ToBytes(samples);
  const header = wavHeader({ sampleRate: rate, dataBytes: pcm.length });
  if (!options.list) return concat(header, pcm);
  const file = concat(header.subarray(0, 36), listChunk(), header.subarray(36), pcm);
  new DataView(file.buffer).setUint32(4, file.length - 8, true);
  return file;
}

/** `whole` cut at the given offsets. */
function cut(whole: Uint8Array, ...at: number[]): Uint8Array[] {
  const edges = [0, ...at.filter((a) => a < whole.length), whole.length];
  return edges.slice(1).map((end, i) => whole.slice(edges[i], end));
}

/** Cuts as the network does: uneven, mostly odd sizes, so samples and the header fall across chunks. */
function awkward(whole: Uint8Array): Uint8Array[] {
  const sizes = [1, 5, 13, 2, 31, 7, 64, 3, 250, 999];
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < whole.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    chunks.push(whole.slice(at, at + size));
    at += size;
  }
  return chunks;
}

const countOf = (haystack: Uint8Array, needle: string) => {
  const bytes = ascii(needle);
  let count = 0;
  for (let i = 0; i + bytes.length <= haystack.length; i++) if (bytes.every((b, k) => haystack[i + k] === b)) count++;
  return count;
};

// ---------------------------------------------------------------------------------------------
// Fake upstream

/** Orpheus streams while it speaks: one chunk per read, and nothing made before it is read. */
const spoken = (chunks: Uint8Array[], options: TrickleOptions = {}): FakeBody => trickle(chunks, { ...options, onRead: true });

const GROQ_HEADERS = {
  "x-request-id": "req_01k2d3e4f5g6h7j8k9m0n1p2q3",
  "x-ratelimit-limit-requests": "100",
  "x-ratelimit-remaining-requests": "99",
  "x-ratelimit-reset-requests": "14m24s",
};

const wavAnswer = (audio: FakeBody | Uint8Array) =>
  new Response(audio instanceof Uint8Array ? audio : audio.body, { headers: { "content-type": "audio/wav", ...GROQ_HEADERS } });

const jsonAnswer = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...GROQ_HEADERS, ...headers } });

const openAiError = (message: string, type: string, code: string | null) => ({ error: { message, type, code } });

/** Answers each part with the WAV of PART_PCM(its index among `parts`), cut awkwardly. */
const partsUpstream = (parts: readonly string[]) =>
  fakeUpstream((sent) => wavAnswer(spoken(awkward(wavFile(PART_PCM(parts.indexOf(String(sent.body.input))))))));

// ---------------------------------------------------------------------------------------------
// Consumers

async function collect(chunks: AsyncIterable<SpeechChunk>): Promise<Uint8Array> {
  const audio: Uint8Array[] = [];
  for await (const chunk of chunks) {
    expect(chunk.alignment).toBeNull();
    audio.push(chunk.audio);
  }
  return concat(...audio);
}

const speak = async (request: SpeechRequest) => collect((await groq.synthesize(request, context())).chunks);

function resampled(pcm: Int16Array, from: number, to: number): Uint8Array {
  const resampler = new Resampler(from, to);
  return concat(resampler.push(pcm16ToBytes(pcm)), resampler.flush());
}

// ---------------------------------------------------------------------------------------------

describe("catalogue", () => {
  it("is Groq, with its built-in Orpheus voices, WAV and PCM but no mp3, and no timings", () => {
    expect(groq.id).toBe("groq");
    expect(groq.name).toBe("Groq");
    expect(groq.formats).toEqual(["wav", "pcm_16000", "pcm_24000"]);
    expect(groq.formats).not.toContain("mp3");
    expect(groq.timings).toBe(false);
    expect(groq.voices).toEqual(VOICES.filter((v) => v.provider === "groq"));
    expect(groq.voices.map((v) => v.voice)).toEqual([
      "autumn",
      "diana",
      "hannah",
      "austin",
      "daniel",
      "troy",
      "abdullah",
      "fahad",
      "sultan",
      "lulwa",
      "noura",
      "aisha",
    ]);
  });

  it("is configured exactly when its key is set, and never calls out without one", async () => {
    expect(groq.configured(CONFIG)).toBe(true);
    expect(groq.configured(UNCONFIGURED)).toBe(false);
    const sent = partsUpstream([speech().text]);
    const err = await apiErrorOf(groq.synthesize(speech(), context(undefined, UNCONFIGURED)), "provider.not_configured");
    expect(err.status).toBe(503);
    expect(sent).toHaveLength(0);
  });

  it("refuses mp3 without calling out", async () => {
    const sent = partsUpstream([speech().text]);
    const err = await apiErrorOf(groq.synthesize(speech({ format: "mp3" }), context()), "format.unsupported");
    expect(err.status).toBe(422);
    expect(sent).toHaveLength(0);
  });
});

describe("splitForGroq", () => {
  it("keeps a short text whole, collapses whitespace, and has nothing to say for blank text", () => {
    expect(splitForGroq("Hello there. How are you?")).toEqual(["Hello there. How are you?"]);
    expect(splitForGroq("  Hello\n\n  there.\t")).toEqual(["Hello there."]);
    expect(splitForGroq(" \n\t ")).toEqual([]);
  });

  it("splits a long text into the expected parts, each within the limit, losing nothing", () => {
    expect(LONG_TEXT.length).toBeGreaterThan(900);
    const parts = splitForGroq(LONG_TEXT);
    expect(parts).toEqual(LONG_PARTS);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MAX_INPUT_CHARS);
    expect(parts.join(" ")).toBe(LONG_TEXT.replace(/\s+/g, " "));
    expect(MAX_INPUT_CHARS).toBe(200);
  });

  it.each([
    ["Dr.", "Then Dr. Alvarez arrived and"],
    ["Mr.", "Ask Mr. Okafor whether"],
    ["Mrs.", "Mrs. Chen replied that"],
    ["e.g.", "Some foods, e.g. bread, mean"],
    ["i.e.", "The dose, i.e. two tablets, means"],
    ["vs.", "Tea vs. coffee means"],
    ["an initial", "A letter from J. Smith says"],
    ["a decimal", "A reading of 3.5 today means"],
  ])("does not end a sentence at %s", (_what, opening) => {
    const first = `First, ${filler(140)} one.`;
    const second = `${opening} ${filler(130)} two.`;
    // Had it split after the abbreviation, its opening words would have joined the first part.
    expect(splitForGroq(`${first} ${second}`)).toEqual([first, second]);
  });

  it("does end a sentence at a real full stop in the same place (so the cases above could fail)", () => {
    const first = `First, ${filler(140)} one.`;
    const second = `Then it ended. Alvarez arrived and ${filler(130)} two.`;
    expect(splitForGroq(`${first} ${second}`)).toEqual([`${first} Then it ended.`, `Alvarez arrived and ${filler(130)} two.`]);
  });

  it("ends sentences at !, ? and a full stop inside closing quotes", () => {
    const sentences = [`Stop, ${filler(140)} now!`, `Why ${filler(140)} then?`, `She said "${filler(140)} today."`, `Last ${filler(140)} end.`];
    expect(splitForGroq(sentences.join(" "))).toEqual(sentences);
  });

  it("cuts a sentence longer than the limit at its last space within it", () => {
    const words = Array.from({ length: 30 }, () => "abcdefghi");
    const parts = splitForGroq(words.join(" "));
    // 20 nine-letter words and their spaces are 199 characters; a 21st would make 209.
    expect(parts).toEqual([words.slice(0, 20).join(" "), words.slice(20).join(" ")]);
  });

  it("cuts a single word longer than the limit, but never inside a character", () => {
    const word = "x".repeat(450);
    expect(splitForGroq(word)).toEqual(["x".repeat(200), "x".repeat(200), "x".repeat(50)]);
    // The emoji at 199..200 is a surrogate pair: the cut moves before it.
    const emoji = `a${"😀".repeat(150)}`;
    const parts = splitForGroq(emoji);
    expect(parts.map((p) => p.length)).toEqual([199, 102]);
    expect(parts[0]?.endsWith("😀")).toBe(true);
    expect(parts.join("")).toBe(emoji);
  });
});

describe("the request", () => {
  it.each(VOICES.filter((v) => v.provider === "groq").map((v) => [v.voice, v.language === "ar" ? ARABIC_MODEL : ENGLISH_MODEL] as const))(
    "%s: POSTs {model: %s, input, voice, response_format: wav} to /audio/speech with the Bearer key",
    async (voice, model) => {
      const sent = partsUpstream([speech().text]);
      await speak(speech({ voice }));
      expect(sent).toHaveLength(1);
      const [req] = sent;
      expect(req?.url).toBe(SPEECH_URL);
      expect(req?.method).toBe("POST");
      expect(req?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
      expect(req?.headers.get("content-type")).toBe("application/json");
      expect(req?.body).toEqual({ model, input: "Hello from Groq.", voice, response_format: "wav" });
    },
  );

  it("names the models by language", () => {
    expect(ENGLISH_MODEL).toBe("canopylabs/orpheus-v1-english");
    expect(ARABIC_MODEL).toBe("canopylabs/orpheus-arabic-saudi");
  });

  it("adds speed when it is given, whatever the format", async () => {
    const sent = partsUpstream([speech().text]);
    await speak(speech({ voice: "noura", format: "pcm_16000", speed: 1.5 }));
    expect(sent[0]?.body).toEqual({ model: ARABIC_MODEL, input: "Hello from Groq.", voice: "noura", response_format: "wav", speed: 1.5 });
  });
});

describe("joining the parts", () => {
  it("requests a long text's parts in order and joins them into ONE valid WAV at the first part's rate", async () => {
    const sent = partsUpstream(LONG_PARTS);
    const stream = await groq.synthesize(speech({ text: LONG_TEXT }), context());
    expect(stream.contentType).toBe("audio/wav");
    const audio = await collect(stream.chunks);
    expect(sent.map((s) => s.body.input)).toEqual(LONG_PARTS);
    for (const s of sent) expect(String(s.body.input).length).toBeLessThanOrEqual(MAX_INPUT_CHARS);
    expect(countOf(audio, "RIFF")).toBe(1);
    // One streaming header (its length unknown while the first part plays), then every part's PCM.
    expect(audio.subarray(0, 44)).toEqual(wavHeader({ sampleRate: 24_000 }));
    const wav = parseWav(audio);
    expect(wav.sampleRate).toBe(24_000);
    expect(wav.channels).toBe(1);
    expect(wav.dataOffset).toBe(44);
    expect(wav.samples).toEqual(joinPcm(LONG_PARTS.map((_, i) => PART_PCM(i))));
  });

  it.each([
    ["the canonical header in its own chunk", (wav: Uint8Array) => cut(wav, 44, 1000)],
    ["the header split across chunks (inside fmt and inside the data header)", (wav: Uint8Array) => cut(wav, 20, 40, 41, 3001)],
    ["awkward odd-sized chunks", awkward],
    ["one byte at a time for the first 100 bytes", (wav: Uint8Array) => cut(wav, ...Array.from({ length: 100 }, (_, i) => i + 1))],
    ["the whole file in one chunk", (wav: Uint8Array) => [wav]],
  ])("strips a part's header however it is cut: %s", async (_how, chunking) => {
    const pcm = PART_PCM(0);
    fakeUpstream(() => wavAnswer(spoken(chunking(wavFile(pcm)))));
    const audio = await speak(speech());
    expect(audio).toEqual(concat(wavHeader({ sampleRate: 24_000 }), pcm16ToBytes(pcm)));
  });

  it("skips a LIST chunk before a part's data", async () => {
    const sent = fakeUpstream((_req, i) => wavAnswer(spoken(awkward(wavFile(PART_PCM(i), 24_000, { list: i === 1 })))));
    const audio = await speak(speech({ text: THREE_TEXT }));
    expect(sent).toHaveLength(3);
    expect(countOf(audio, "LIST")).toBe(0);
    expect(parseWav(audio).samples).toEqual(joinPcm([PART_PCM(0), PART_PCM(1), PART_PCM(2)]));
  });

  it("pcm_24000 gives only the parts' PCM, in order", async () => {
    partsUpstream(THREE);
    const stream = await groq.synthesize(speech({ text: THREE_TEXT, format: "pcm_24000" }), context());
    expect(stream.contentType).toBe("audio/pcm;rate=24000;encoding=signed-int;bits=16;channels=1;endianness=little");
    const audio = await collect(stream.chunks);
    expect(countOf(audio, "RIFF")).toBe(0);
    expect(audio).toEqual(pcm16ToBytes(joinPcm([PART_PCM(0), PART_PCM(1), PART_PCM(2)])));
  });

  it("pcm_16000 resamples 24 kHz parts as one continuous stream: about 2/3 of the samples", async () => {
    partsUpstream(THREE);
    const stream = await groq.synthesize(speech({ text: THREE_TEXT, format: "pcm_16000" }), context());
    expect(stream.contentType).toBe("audio/pcm;rate=16000;encoding=signed-int;bits=16;channels=1;endianness=little");
    const audio = await collect(stream.chunks);
    const source = joinPcm([PART_PCM(0), PART_PCM(1), PART_PCM(2)]);
    expect(audio.length % 2).toBe(0);
    expect(Math.abs(audio.length / 2 - (source.length * 2) / 3)).toBeLessThanOrEqual(2);
    // Exactly what one resampler gives over the joined PCM: no seams at the parts' edges.
    expect(audio).toEqual(resampled(source, 24_000, 16_000));
  });

  it("wav from a 48 kHz part is a 48 kHz WAV of the same samples", async () => {
    const pcm = PART_PCM(0, 48_000);
    fakeUpstream(() => wavAnswer(spoken(awkward(wavFile(pcm, 48_000)))));
    const wav = parseWav(await speak(speech()));
    expect(wav.sampleRate).toBe(48_000);
    expect(wav.samples).toEqual(pcm);
  });

  it("pcm_24000 from 48 kHz parts is resampled to half the samples", async () => {
    fakeUpstream((_req, i) => wavAnswer(spoken(awkward(wavFile(PART_PCM(i, 48_000), 48_000)))));
    const audio = await speak(speech({ text: THREE_TEXT, format: "pcm_24000" }));
    const source = joinPcm([0, 1, 2].map((i) => PART_PCM(i, 48_000)));
    expect(Math.abs(audio.length / 2 - source.length / 2)).toBeLessThanOrEqual(2);
    expect(audio).toEqual(resampled(source, 48_000, 24_000));
  });

  it("wav keeps the first part's rate when a later part comes at another one", async () => {
    fakeUpstream((_req, i) => (i === 0 ? wavAnswer(wavFile(PART_PCM(0))) : wavAnswer(spoken(awkward(wavFile(PART_PCM(1, 48_000), 48_000))))));
    const audio = await speak(speech({ text: THREE.slice(0, 2).join(" ") }));
    expect(countOf(audio, "RIFF")).toBe(1);
    expect(parseWav(audio).sampleRate).toBe(24_000);
    expect(audio.subarray(44)).toEqual(concat(pcm16ToBytes(PART_PCM(0)), resampled(PART_PCM(1, 48_000), 48_000, 24_000)));
  });

  it("a part cut short in the middle of a sample does not shift the next part's samples", async () => {
    const truncated = wavFile(PART_PCM(0)).slice(0, -1);
    fakeUpstream((_req, i) => wavAnswer(spoken(awkward(i === 0 ? truncated : wavFile(PART_PCM(1))))));
    const audio = await speak(speech({ text: THREE.slice(0, 2).join(" "), format: "pcm_24000" }));
    const first = pcm16ToBytes(PART_PCM(0));
    expect(audio).toEqual(concat(first.subarray(0, first.length - 2), pcm16ToBytes(PART_PCM(1))));
  });
});

describe("prefetching", () => {
  it("requests the next part while the current one streams, never more than one ahead", async () => {
    const fakes: FakeBody[] = [];
    /** At each request, which of the earlier parts' bodies had ended. */
    const endedAtRequest: boolean[][] = [];
    const sent = fakeUpstream((_req, i) => {
      endedAtRequest.push(fakes.map((f) => f.closed()));
      const fake = spoken(cut(wavFile(PART_PCM(i)), 44, 1500, 3000, 4000), { pauseMs: 20 });
      fakes.push(fake);
      return wavAnswer(fake);
    });
    const audio = await speak(speech({ text: THREE_TEXT }));
    expect(sent.map((s) => s.body.input)).toEqual(THREE);
    expect(endedAtRequest).toEqual([
      [],
      [false], // part 2 asked for while part 1 was still streaming
      [true, false], // part 3 only once part 1 was done, while part 2 streamed
    ]);
    expect(parseWav(audio).samples).toEqual(joinPcm([PART_PCM(0), PART_PCM(1), PART_PCM(2)]));
  });

  it("keeps the text's order when the second part's answer is complete before the first's", async () => {
    const first = spoken(cut(wavFile(PART_PCM(0)), 44, 1500, 3000, 4000), { pauseMs: 30 });
    let firstStillStreamingWhenSecondDone = false;
    fakeUpstream((_req, i) => {
      if (i === 0) return wavAnswer(first);
      firstStillStreamingWhenSecondDone = !first.closed();
      return wavAnswer(wavFile(PART_PCM(1)));
    });
    const audio = await speak(speech({ text: THREE.slice(0, 2).join(" "), format: "pcm_24000" }));
    expect(firstStillStreamingWhenSecondDone).toBe(true);
    expect(audio).toEqual(pcm16ToBytes(joinPcm([PART_PCM(0), PART_PCM(1)])));
  });
});

describe("a part that fails", () => {
  it("part 2 failing after part 1 streamed makes the iterator throw the mapped error; part 3 is never asked for", async () => {
    const sent = fakeUpstream((_req, i) =>
      i === 0 ? wavAnswer(spoken(awkward(wavFile(PART_PCM(0))))) : jsonAnswer(openAiError("Internal server error", "internal_server_error", null), 500),
    );
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context());
    const received: Uint8Array[] = [];
    const failure = (async () => {
      for await (const chunk of chunks) received.push(chunk.audio);
    })();
    const err = await apiErrorOf(failure, "provider.unavailable");
    expect(err.message).toBe("groq failed with a server error (HTTP 500, upstream code: internal_server_error); try again shortly.");
    expect(concat(...received)).toEqual(concat(wavHeader({ sampleRate: 24_000 }), pcm16ToBytes(PART_PCM(0))));
    expect(sent).toHaveLength(2);
    expect(logs.lines()).not.toEqual([]);
  });

  it("part 2 rate limited midway is provider.rate_limited with Retry-After, from the iterator", async () => {
    fakeUpstream((_req, i) =>
      i === 0
        ? wavAnswer(wavFile(PART_PCM(0)))
        : jsonAnswer(
            openAiError(
              "Rate limit reached for model `canopylabs/orpheus-v1-english` on requests per minute (RPM): Limit 10, Used 10, Requested 1.",
              "requests",
              "rate_limit_exceeded",
            ),
            429,
            {
              "retry-after": "7",
            },
          ),
    );
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT, format: "pcm_24000" }), context());
    expect((await chunks.next()).done).toBe(false);
    const err = await apiErrorOf(collect(chunks), "provider.rate_limited");
    expect(err.headers).toEqual({ "Retry-After": "7" });
  });

  it("part 1 failing is thrown by synthesize, and no other part is asked for", async () => {
    const sent = fakeUpstream(() => jsonAnswer(openAiError("Invalid voice: nobody", "invalid_request_error", "invalid_voice"), 400));
    const err = await apiErrorOf(groq.synthesize(speech({ text: THREE_TEXT, voice: "nobody" }), context()), "provider.rejected");
    expect(err.message).toBe("groq refused the request as invalid (upstream code: invalid_voice).");
    expect(sent).toHaveLength(1);
  });

  it("a 200 whose body is not a WAV makes the iterator throw provider.unavailable", async () => {
    fakeUpstream(() => new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } }));
    const { chunks } = await groq.synthesize(speech(), context());
    const err = await apiErrorOf(collect(chunks), "provider.unavailable");
    expect(err.message).toBe("groq answered audio that could not be read; try again shortly.");
  });

  it("a body that ends inside the WAV header makes the iterator throw provider.unavailable", async () => {
    fakeUpstream(() => wavAnswer(wavFile(PART_PCM(0)).slice(0, 30)));
    const { chunks } = await groq.synthesize(speech(), context());
    await apiErrorOf(collect(chunks), "provider.unavailable");
  });
});

describe("cancelling", () => {
  it("return() while part 1 streams cancels it and aborts part 2's request still waiting for its answer", async () => {
    const first = spoken(cut(wavFile(PART_PCM(0)), 44, 1500, 3000), { pauseMs: 20 });
    const sent = fakeUpstream((req, i) => (i === 0 ? wavAnswer(first) : noAnswer(req)));
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context());
    expect((await chunks.next()).done).toBe(false);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.signal?.aborted).toBe(false);
    await chunks.return?.();
    expect(first.cancelled()).toBe(true);
    expect(sent[1]?.signal?.aborted).toBe(true);
    await sleep(50);
    expect(sent).toHaveLength(2);
    expect(logs.lines()).toEqual([]);
  });

  it("return() cancels the body of a part 2 that answered but was not read yet", async () => {
    const first = spoken(cut(wavFile(PART_PCM(0)), 44, 1500, 3000), { pauseMs: 20 });
    // No signal: its body is let go only by cancelling it.
    const second = spoken(awkward(wavFile(PART_PCM(1))));
    const sent = fakeUpstream((_req, i) => wavAnswer(i === 0 ? first : second));
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context());
    expect((await chunks.next()).done).toBe(false);
    await sleep(10); // part 2's answer is in
    await chunks.return?.();
    await sleep(10);
    expect(first.cancelled()).toBe(true);
    expect(second.cancelled()).toBe(true);
    expect(second.enqueued()).toBe(0);
    expect(sent).toHaveLength(2);
  });

  it("return() before reading cancels part 1 and asks for nothing more", async () => {
    const first = spoken(awkward(wavFile(PART_PCM(0))), { pauseMs: 20 });
    const sent = fakeUpstream((req, i) => (i === 0 ? wavAnswer(first) : noAnswer(req)));
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context());
    await chunks.return?.();
    expect(first.cancelled()).toBe(true);
    await sleep(30);
    expect(sent).toHaveLength(1);
  });

  it("aborting the caller's signal aborts the current and the prefetched request and ends the iterator with CallerGone", async () => {
    const caller = new AbortController();
    const sent = fakeUpstream((req, i) =>
      i === 0 ? wavAnswer(spoken(cut(wavFile(PART_PCM(0)), 44, 1500, 3000), { pauseMs: 20, signal: req.signal })) : noAnswer(req),
    );
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context(caller.signal));
    expect((await chunks.next()).done).toBe(false);
    expect(sent.map((s) => s.signal?.aborted)).toEqual([false, false]);
    caller.abort();
    expect(sent.map((s) => s.signal?.aborted)).toEqual([true, true]);
    await expect(chunks.next()).rejects.toBeInstanceOf(CallerGone);
    // The caller left: that is not Groq's failure, so nothing is logged as one.
    expect(logs.lines()).toEqual([]);
  });
});

describe("errors", () => {
  it("429 with retry-after is provider.rate_limited with Retry-After", async () => {
    fakeUpstream(() =>
      jsonAnswer(
        openAiError(
          "Rate limit reached for model `canopylabs/orpheus-v1-english` on audio seconds per hour (ASH): Limit 3600. Please try again in 6.2s.",
          "audio_seconds",
          "rate_limit_exceeded",
        ),
        429,
        { "retry-after": "7" },
      ),
    );
    const err = await apiErrorOf(groq.synthesize(speech(), context()), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "7" });
  });

  it("400 is provider.rejected with a fixed text and Groq's code; its reason goes to the log only", async () => {
    const message = `The model \`canopylabs/orpheus-v1-english\` requires terms acceptance (key ${KEY}). Please have the org admin accept the terms at https://console.groq.com/playground?model=canopylabs%2Forpheus-v1-english or via ${HOST}.`;
    fakeUpstream(() => jsonAnswer(openAiError(message, "invalid_request_error", "model_terms_required"), 400));
    const err = await apiErrorOf(groq.synthesize(speech(), context()), "provider.rejected");
    expect(err.status).toBe(400);
    expect(err.message).toBe("groq refused the request as invalid (upstream code: model_terms_required).");
    expect(logs.lines().some((line) => line.includes("requires terms acceptance"))).toBe(true);
  });

  it.each([
    [
      401,
      openAiError("Invalid API Key", "invalid_request_error", "invalid_api_key"),
      "groq did not accept this deployment's credentials (HTTP 401, upstream code: invalid_api_key); the operator of this deployment must check its account there.",
    ],
    [
      500,
      openAiError("Internal server error", "internal_server_error", null),
      "groq failed with a server error (HTTP 500, upstream code: internal_server_error); try again shortly.",
    ],
  ])("%i is provider.unavailable (503)", async (status, body, expected) => {
    fakeUpstream(() => jsonAnswer(body, status));
    const err = await apiErrorOf(groq.synthesize(speech(), context()), "provider.unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe(expected);
  });

  it("reads OpenAI's error shape, and nothing from anything else", () => {
    expect(errorMessageOf(openAiError("Invalid API Key", "invalid_request_error", "invalid_api_key"))).toBe("Invalid API Key");
    expect(errorMessageOf({ error: "Invalid API Key" })).toBeUndefined();
    expect(errorMessageOf({ message: "x" })).toBeUndefined();
    expect(errorMessageOf(undefined)).toBeUndefined();
  });

  it("a network failure is provider.unavailable", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED ${HOST}:443 (${KEY})`));
    const err = await apiErrorOf(groq.synthesize(speech(), context()), "provider.unavailable");
    expect(err.message).toBe("groq could not be reached; try again shortly.");
  });
});

const LEAKY_MESSAGE = leakyMessage(KEY);

describe("the upstream's own words never reach the client", () => {
  it("a 400 naming an internal host, a private address, a URL and a credential is a fixed text with the code", async () => {
    fakeUpstream(() => jsonAnswer(openAiError(LEAKY_MESSAGE, "invalid_request_error", "model_terms_required"), 400));
    const body = { model: ENGLISH_MODEL, input: "Hi", voice: "troy", response_format: "wav" };
    for (const call of [groq.synthesize(speech(), context()), groqProxy(body, context())]) {
      const err = await apiErrorOf(call, "provider.rejected");
      expect(err.message).toBe("groq refused the request as invalid (upstream code: model_terms_required).");
      for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    }
    expect(logs.lines().some((line) => line.includes("could not route this request"))).toBe(true);
  });

  it("a later part refused midway: the iterator throws the fixed text, not the upstream's words", async () => {
    fakeUpstream((_req, i) => (i === 0 ? wavAnswer(wavFile(PART_PCM(0))) : jsonAnswer(openAiError(LEAKY_MESSAGE, "invalid_request_error", null), 400)));
    const { chunks } = await groq.synthesize(speech({ text: THREE_TEXT }), context());
    const err = await apiErrorOf(collect(chunks), "provider.rejected");
    expect(err.message).toBe("groq refused the request as invalid (upstream code: invalid_request_error).");
    for (const leak of LEAKS) expect(err.message).not.toContain(leak);
  });

  it.each(hostileCodes(KEY))("a code that is not a plain token (%s) is not echoed", async (_what, code) => {
    fakeUpstream(() => jsonAnswer(openAiError("Bad request.", code, code), 400));
    const err = await apiErrorOf(groq.synthesize(speech(), context()), "provider.rejected");
    expect(err.message).toBe("groq refused the request as invalid.");
    expect(err.message).not.toContain(code);
  });
});
