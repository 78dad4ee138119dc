import { concat } from "../../lib/bytes";
import { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";
import { OPENAI_SHAPED } from "../openai-errors";
import { isConfigured, type ProviderDescriptor, providerCall, requireKey, ttsWaits } from "../provider-call";
import { loggedStream, streamLogOf } from "../stream-log";
import { releasingEarly, type UpstreamResponse, unavailable } from "../upstream";
import { contentTypeOf, Resampler, sampleRateOf, WavReader } from "./audio";
import type { AudioFormat, SpeechChunk, SpeechRequest, TtsProvider } from "./types";
import { VOICES } from "./voices";
import { wavHeader } from "./wav";

/**
 * Groq's OpenAI-compatible speech endpoint with Canopy Labs' Orpheus models (reference/upstreams.md
 * §3.1). Orpheus answers WAV only and refuses long inputs, so a text is spoken part by part and the
 * parts' WAVs are joined into one stream: one streaming WAV header and then every part's PCM in
 * order, or the bare PCM (resampled when Orpheus' rate is not the asked one). No mp3: there is no
 * encoder here, and Orpheus does not give one.
 */

const PROVIDER = "groq";

/** Groq's speech endpoint is OpenAI's. */
const UPSTREAM: ProviderDescriptor = {
  id: PROVIDER,
  name: "Groq",
  settings: (config) => config.tts.groq,
  waits: ttsWaits,
  ...OPENAI_SHAPED,
  subject: "voice",
};

export const ENGLISH_MODEL = "canopylabs/orpheus-v1-english";
export const ARABIC_MODEL = "canopylabs/orpheus-arabic-saudi";

/**
 * Orpheus refuses an `input` longer than about 200 characters. Lengths here are UTF-16 units,
 * never fewer than the characters Groq counts, so a part within the limit here is within Groq's.
 */
export const MAX_INPUT_CHARS = 200;

/**
 * How many parts are requested beyond the one being streamed. One hides a part's time to first
 * byte behind the previous part's audio; more would only spend rate limit on parts a consumer
 * that stops early never hears.
 */
export const PREFETCH_AHEAD = 1;

const FORMATS: readonly AudioFormat[] = ["wav", "pcm_16000", "pcm_24000"];
type GroqFormat = "wav" | "pcm_16000" | "pcm_24000";
const isGroqFormat = (format: AudioFormat): format is GroqFormat => FORMATS.includes(format);

const BUILT_IN = VOICES.filter((v) => v.provider === PROVIDER);
/** Each Orpheus model speaks one language; voices.ts says which language each voice is. */
const ARABIC_VOICES = new Set(BUILT_IN.filter((v) => v.language === "ar").map((v) => v.voice));
export const modelFor = (voice: string): string => (ARABIC_VOICES.has(voice) ? ARABIC_MODEL : ENGLISH_MODEL);

// ---------------------------------------------------------------------------------------------
// Splitting the text into parts Orpheus accepts

/** Words whose final dot does not end a sentence ("Dr. Smith", "e.g. this"), lower case, without that dot. */
const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "e.g", "i.e", "cf", "approx"]);

/**
 * A sentence end: . ! ? (or a run of them, "..." "?!"), then any closing quotes or brackets, then a
 * space or the end. A dot followed by a digit ("3.5") or a letter ("e.g") is never one.
 */
const SENTENCE_END = /[.!?]+["'”’)\]]*(?=\s|$)/g;

/** The longest word looked at before a dot: longer than any abbreviation, so no text is rescanned whole per dot. */
const WORD_WINDOW = 16;

/** Whether the dot at `start` belongs to an abbreviation or an initial ("J. Smith") rather than ending a sentence. */
function isAbbreviation(text: string, start: number, mark: string): boolean {
  if (mark !== ".") return false;
  const before = text.slice(Math.max(0, start - WORD_WINDOW), start);
  const word = /(\S+)$/.exec(before)?.[1]?.replace(/^["'“‘([]+/, "") ?? "";
  return ABBREVIATIONS.has(word.toLowerCase()) || /^[A-Z]$/.test(word);
}

/** The sentences of whitespace-normalised text, each with its final punctuation. */
function sentencesOf(text: string): string[] {
  const sentences: string[] = [];
  let from = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    if (isAbbreviation(text, match.index, match[0])) continue;
    const end = match.index + match[0].length;
    sentences.push(text.slice(from, end).trim());
    from = end;
  }
  const rest = text.slice(from).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

/** Where to cut text longer than the limit: the last space within it, or (one huge word) at the limit. */
function cutPoint(text: string): number {
  const space = text.lastIndexOf(" ", MAX_INPUT_CHARS);
  if (space > 0) return space;
  // Never between the two halves of a surrogate pair (an emoji), which would be two broken characters.
  const code = text.charCodeAt(MAX_INPUT_CHARS - 1);
  return code >= 0xd800 && code <= 0xdbff ? MAX_INPUT_CHARS - 1 : MAX_INPUT_CHARS;
}

/** A sentence as pieces within the limit (itself, when it fits). */
function withinLimit(sentence: string): string[] {
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > MAX_INPUT_CHARS) {
    const cut = cutPoint(rest);
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/**
 * The text as parts of at most MAX_INPUT_CHARS, in order: whole sentences packed together while
 * they fit (fewer parts, fewer seams in the voice), a sentence longer than the limit cut at its
 * last space within it, and only a single word longer than the limit cut inside. Whitespace runs
 * become one space (speech does not hear line breaks). Empty for a text with nothing to say.
 */
export function splitForGroq(text: string): string[] {
  const normalised = text.replace(/\s+/g, " ").trim();
  const parts: string[] = [];
  let current = "";
  for (const piece of sentencesOf(normalised).flatMap(withinLimit)) {
    const joined = current === "" ? piece : `${current} ${piece}`;
    if (joined.length <= MAX_INPUT_CHARS) {
      current = joined;
    } else {
      parts.push(current);
      current = piece;
    }
  }
  if (current) parts.push(current);
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Joining the parts' WAVs into one stream

const unreadable = () => unavailable(PROVIDER, "answered audio that could not be read");

/**
 * The PCM of all parts as one stream in the asked format. The rate is the asked one for `pcm_*`
 * and the first part's for `wav` (its header goes out before any sample). A part at another rate
 * is resampled, with one resampler across parts of the same rate so the seams stay continuous.
 */
class JoinedAudio {
  private rate: number | undefined;
  private headerSent = false;
  private resampler: Resampler | undefined;
  /** A part's last byte when the network cut a sample in two; it waits for its pair. */
  private halfSample: Uint8Array = new Uint8Array(0);

  constructor(private readonly format: GroqFormat) {}

  /** Some PCM of the current part, at `partRate`; returns what goes out. */
  push(pcm: Uint8Array, partRate: number): Uint8Array {
    this.rate ??= this.format === "wav" ? partRate : sampleRateOf(this.format);
    const converted = this.convert(this.wholeSamples(pcm), partRate, this.rate);
    return concat(this.header(), converted);
  }

  /**
   * A part ended. A stray half sample (a truncated part) is dropped, so that the next part's
   * samples do not start on an odd byte and turn into noise.
   */
  endPart(): void {
    this.halfSample = new Uint8Array(0);
  }

  /** The stream ended: the resampler's last samples, or the header of a stream without any. */
  end(): Uint8Array {
    this.rate ??= sampleRateOf(this.format);
    const tail = this.resampler?.flush() ?? new Uint8Array(0);
    this.resampler = undefined;
    return concat(this.header(), tail);
  }

  private header(): Uint8Array {
    if (this.format !== "wav" || this.headerSent || this.rate === undefined) return new Uint8Array(0);
    this.headerSent = true;
    // The length is unknown until the last part ends: a streaming header ("until the end").
    return wavHeader({ sampleRate: this.rate });
  }

  private wholeSamples(pcm: Uint8Array): Uint8Array {
    const bytes = concat(this.halfSample, pcm);
    const whole = bytes.length - (bytes.length % 2);
    this.halfSample = bytes.slice(whole);
    return bytes.subarray(0, whole);
  }

  private convert(pcm: Uint8Array, from: number, to: number): Uint8Array {
    let flushed: Uint8Array = new Uint8Array(0);
    if (this.resampler && this.resampler.from !== from) {
      flushed = this.resampler.flush();
      this.resampler = undefined;
    }
    if (from === to) return concat(flushed, pcm);
    this.resampler ??= new Resampler(from, to);
    return concat(flushed, this.resampler.push(pcm));
  }
}

/** One part's audio: its WAV read as it arrives, header stripped, turned into output bytes. */
async function* partAudio(upstream: UpstreamResponse, output: JoinedAudio): AsyncGenerator<Uint8Array, void> {
  const wav = new WavReader();
  for await (const bytes of upstream.chunks()) {
    let pcm: Uint8Array;
    try {
      pcm = wav.push(bytes);
    } catch {
      throw unreadable();
    }
    if (pcm.length === 0) continue;
    const format = wav.format;
    if (format?.channels !== 1 || format.bitsPerSample !== 16) throw unreadable();
    const audio = output.push(pcm, format.sampleRate);
    if (audio.length > 0) yield audio;
  }
  if (!wav.format) throw unreadable(); // the body ended inside the header
  output.endPart();
}

/** Awaiting a prefetched request later is what reports its failure; until then it must not count as unhandled. */
function prefetched(request: Promise<UpstreamResponse>): Promise<UpstreamResponse> {
  request.catch(() => {});
  return request;
}

/**
 * All parts' audio in order. Part n+1 is requested once part n is being streamed (PREFETCH_AHEAD
 * requests ahead at most), but each is read only after the one before it ended, so the order is
 * the text's whatever order the answers come in. On any way out (the end, a failure, `return()`)
 * `stop` aborts whatever is still in flight and a prefetched answer is given back.
 */
async function* joinedChunks(
  first: UpstreamResponse,
  rest: readonly string[],
  send: (input: string) => Promise<UpstreamResponse>,
  format: GroqFormat,
  stop: () => void,
): AsyncGenerator<SpeechChunk, void> {
  const output = new JoinedAudio(format);
  const ahead: Promise<UpstreamResponse>[] = [];
  let next = 0;
  try {
    let current: UpstreamResponse | undefined = first;
    while (current) {
      while (ahead.length < PREFETCH_AHEAD && next < rest.length) ahead.push(prefetched(send(rest[next++] ?? "")));
      for await (const audio of partAudio(current, output)) yield { audio, alignment: null };
      current = await ahead.shift();
    }
    const tail = output.end();
    if (tail.length > 0) yield { audio: tail, alignment: null };
  } finally {
    stop();
    for (const request of ahead)
      void request.then(
        (upstream) => upstream.cancel(),
        () => {},
      );
  }
}

/**
 * A signal that follows the caller's and can also be aborted by us, so that a consumer's
 * `return()` cancels requests still waiting for their answer. `stop` aborts it and lets go of the
 * caller's signal, which may live far longer than this one stream (a whole conversation).
 */
function followingSignal(caller: AbortSignal): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(caller.reason);
  caller.addEventListener("abort", onAbort, { once: true });
  if (caller.aborted) controller.abort(caller.reason);
  return {
    signal: controller.signal,
    stop: () => {
      caller.removeEventListener("abort", onAbort);
      controller.abort();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

function speechBody(request: SpeechRequest, input: string): Record<string, unknown> {
  return {
    model: modelFor(request.voice),
    input,
    voice: request.voice,
    response_format: "wav",
    ...(request.speed === undefined ? {} : { speed: request.speed }),
  };
}

/** One part's request, on the stream's own signal (so stopping the stream cancels it). */
const requestor = (request: SpeechRequest, ctx: ProviderContext, signal: AbortSignal) => (input: string) =>
  groqProxy(speechBody(request, input), { ...ctx, signal });

/** Groq's own `audio/speech` request (`POST /v1/tts/groq`), sent as it is with this deployment's key. */
export function groqProxy(body: Record<string, unknown>, ctx: ProviderContext): Promise<UpstreamResponse> {
  return providerCall(UPSTREAM, { path: "/audio/speech", json: body }, ctx);
}

export const groq: TtsProvider = {
  id: PROVIDER,
  name: UPSTREAM.name,
  formats: FORMATS,
  timings: false,
  voices: BUILT_IN,
  configured: (config) => isConfigured(UPSTREAM, config),

  async synthesize(request, ctx) {
    requireKey(UPSTREAM, ctx.config);
    const format = request.format;
    if (!isGroqFormat(format))
      throw new ApiError("format.unsupported", `Groq voices cannot give ${format}; they give ${FORMATS.join(", ")}.`, { param: "format" });
    // A text with nothing to say still goes out as it is, so that Groq's own answer decides.
    const [firstPart = request.text, ...rest] = splitForGroq(request.text);
    const { signal, stop } = followingSignal(ctx.signal);
    const send = requestor(request, ctx, signal);
    let first: UpstreamResponse;
    try {
      first = await send(firstPart);
    } catch (err) {
      stop();
      throw err;
    }
    const chunks = loggedStream(joinedChunks(first, rest, send, format, stop), streamLogOf("tts", UPSTREAM, ctx));
    return {
      contentType: contentTypeOf(format),
      chunks: releasingEarly(chunks, async () => {
        stop();
        await first.cancel();
      }),
    };
  },
};
