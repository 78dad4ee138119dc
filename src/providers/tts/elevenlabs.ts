import { concat, decodeBase64 } from "../../lib/bytes";
import type { ProviderContext } from "../context";
import { arr, at, filled, isObject, type JsonObject, numbers, obj, parseJson, str, strings } from "../json";
import { isConfigured, type ProviderDescriptor, providerCall, ttsWaits } from "../provider-call";
import { loggedStream, streamLogOf } from "../stream-log";
import { releasingEarly, type UpstreamResponse, unavailable } from "../upstream";
import { contentTypeOf, pcmDurationMs, sampleRateOf } from "./audio";
import type { Alignment, AudioFormat, SpeechChunk, SpeechRequest, TtsProvider } from "./types";
import { VOICES, type VoiceInfo } from "./voices";
import { wavHeader } from "./wav";

/** ElevenLabs takes speeds from 0.7 to 1.2 (the API accepts 0.5 to 2 for every voice): the nearest it can do. */
const MIN_SPEED = 0.7;
const MAX_SPEED = 1.2;
const clampSpeed = (speed: number) => Math.min(MAX_SPEED, Math.max(MIN_SPEED, speed));

/**
 * ElevenLabs text-to-speech (reference/upstreams.md §1): the streaming endpoint, whose audio is
 * handed on chunk by chunk as it arrives, and its with-timestamps variant, whose NDJSON lines carry
 * base64 audio plus per-character timings that are turned into the interface's chunk-relative ones.
 */

const PROVIDER = "elevenlabs";

/**
 * Flash v2.5: ElevenLabs' lowest-latency model (about 75 ms to first audio) in 32 languages. A
 * talking avatar is judged by how soon it starts speaking, which matters more here than the last
 * bit of expressiveness of multilingual v2 (the API's default).
 */
const MODEL_ID = "eleven_flash_v2_5";

/** What we ask ElevenLabs for, per format. `wav` is its raw PCM behind a header of our own. */
const OUTPUT_FORMATS: Record<AudioFormat, string> = {
  mp3: "mp3_44100_128",
  pcm_16000: "pcm_16000",
  pcm_24000: "pcm_24000",
  wav: "pcm_24000",
};

/** mp3_44100_128 is constant bit rate: 128 kbit/s is 16 bytes per millisecond of audio. */
const MP3_BYTES_PER_MS = 128_000 / 8 / 1000;

/** A single NDJSON line this long is not audio of one chunk but a broken answer. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

const BUILT_IN: readonly VoiceInfo[] = VOICES.filter((v) => v.provider === PROVIDER);
const BUILT_IN_IDS = new Set(BUILT_IN.map((v) => v.id));

// ---------------------------------------------------------------------------------------------
// Its errors, and how it is called

/**
 * The explanation in an ElevenLabs error body: `detail.message` (older and current shapes alike),
 * a bare string `detail`, or FastAPI's validation list, whose first entry names the field.
 */
function errorMessageOf(body: unknown): string | undefined {
  const list = arr(body, "detail");
  if (list) {
    const msg = str(list[0], "msg");
    const loc = arr(list[0], "loc");
    if (msg === undefined) return undefined;
    return loc && loc.length > 0 ? `${msg} (${loc.map(String).join(".")})` : msg;
  }
  return str(body, "detail") ?? str(body, "detail", "message");
}

/**
 * ElevenLabs' machine code: `detail.code` (current shape), `detail.status` (older shape, still
 * sent), or the `type` of FastAPI's first validation entry.
 */
function errorCodeOf(body: unknown): string | undefined {
  const list = arr(body, "detail");
  if (list) return filled(list[0], "type");
  return filled(body, "detail", "code") ?? filled(body, "detail", "status");
}

/** ElevenLabs authenticates with its own header, not a Bearer token. */
const UPSTREAM: ProviderDescriptor = {
  id: PROVIDER,
  name: "ElevenLabs",
  settings: (config) => config.tts.elevenlabs,
  waits: ttsWaits,
  auth: (apiKey) => ({ "xi-api-key": apiKey }),
  errorMessage: errorMessageOf,
  errorCode: errorCodeOf,
  subject: "voice",
};

function speechPath(request: SpeechRequest): string {
  const variant = request.timestamps ? "/stream/with-timestamps" : "/stream";
  return `/v1/text-to-speech/${encodeURIComponent(request.voice)}${variant}?output_format=${OUTPUT_FORMATS[request.format]}`;
}

function speechBody(request: SpeechRequest): JsonObject {
  return {
    text: request.text,
    model_id: MODEL_ID,
    // Left out unless asked for, so the voice's own saved settings apply.
    ...(request.speed === undefined ? {} : { voice_settings: { speed: clampSpeed(request.speed) } }),
  };
}

// ---------------------------------------------------------------------------------------------
// Plain audio

/**
 * The upstream's chunks as they come, after `header` when there is one. `source` was taken before
 * this generator starts, and is given back in `finally`: a consumer that returns while we are
 * suspended on the header has not entered any loop that would release it otherwise.
 */
async function* audioChunks(source: AsyncIterableIterator<Uint8Array>, header: Uint8Array | undefined): AsyncGenerator<SpeechChunk, void> {
  try {
    if (header) yield { audio: header, alignment: null };
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield { audio: next.value, alignment: null };
    }
  } finally {
    await source.return?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Audio with timestamps

/** Complete lines of a byte stream, however the network cut it; a last line without `\n` counts. */
async function* lines(source: AsyncIterator<Uint8Array>): AsyncGenerator<string, void> {
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const next = await source.next();
    pending += next.done ? decoder.decode() : decoder.decode(next.value, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    if (next.done) {
      if (pending !== "") yield pending;
      return;
    }
    if (pending.length > MAX_LINE_CHARS) throw unavailable(PROVIDER, "broke off the stream");
  }
}

/** A line's audio; base64 that does not decode means the stream is broken. */
function audioOf(encoded: string): Uint8Array {
  try {
    return decodeBase64(encoded);
  } catch {
    throw unavailable(PROVIDER, "broke off the stream");
  }
}

interface TimedLine {
  audio: Uint8Array;
  /** ElevenLabs' timings, in seconds from the start of the whole utterance; null when it gave none. */
  alignment: { characters: string[]; starts: number[]; ends: number[] } | null;
}

/** One NDJSON line; anything that is not the documented shape means the stream is broken. */
function parseLine(line: string): TimedLine {
  const value = parseJson(line);
  const audio = str(value, "audio_base64");
  if (audio === undefined) throw unavailable(PROVIDER, "broke off the stream");
  const alignment = at(value, "alignment");
  if (alignment === undefined || alignment === null) return { audio: audioOf(audio), alignment: null };
  const characters = strings(alignment, "characters");
  const starts = numbers(alignment, "character_start_times_seconds");
  const ends = numbers(alignment, "character_end_times_seconds");
  if (!characters || !starts || !ends || starts.length !== characters.length || ends.length !== characters.length) {
    throw unavailable(PROVIDER, "broke off the stream");
  }
  return { audio: audioOf(audio), alignment: { characters, starts, ends } };
}

/**
 * Utterance-relative seconds to ms relative to the chunk that starts `offsetMs` into the audio.
 * Start and end are rounded, and the duration taken between them, so characters that touch still
 * touch after rounding. The mp3 offset is an estimate, so a start just before it is kept at 0.
 */
function relativeAlignment(timed: NonNullable<TimedLine["alignment"]>, offsetMs: number): Alignment {
  const at = (seconds: number) => Math.max(0, Math.round(seconds * 1000 - offsetMs));
  const start_ms = timed.starts.map(at);
  const duration_ms = timed.ends.map((end, i) => Math.max(0, at(end) - (start_ms[i] ?? 0)));
  return { chars: [...timed.characters], start_ms, duration_ms };
}

/** How long `bytes` of upstream audio play, in ms. */
function durationMs(format: AudioFormat, bytes: number): number {
  // PCM is exact. mp3_44100_128 is constant bit rate, so bytes × 8 / 128 000 s is a close estimate
  // (off by at most a frame, about 26 ms, where a chunk boundary cuts one).
  return format === "mp3" ? bytes / MP3_BYTES_PER_MS : pcmDurationMs(bytes, sampleRateOf(format));
}

/**
 * One chunk per NDJSON line, its timings moved to the start of its own audio. The running total
 * counts upstream audio only: a WAV header, at the front of the first chunk, plays for no time.
 */
async function* timedChunks(source: AsyncIterableIterator<Uint8Array>, format: AudioFormat, header: Uint8Array | undefined): AsyncGenerator<SpeechChunk, void> {
  let bytesBefore = 0;
  let pendingHeader = header;
  try {
    for await (const line of lines(source)) {
      if (line.trim() === "") continue;
      const timed = parseLine(line);
      const alignment = timed.alignment ? relativeAlignment(timed.alignment, durationMs(format, bytesBefore)) : null;
      bytesBefore += timed.audio.byteLength;
      const audio = pendingHeader ? concat(pendingHeader, timed.audio) : timed.audio;
      pendingHeader = undefined;
      yield { audio, alignment };
    }
  } finally {
    await source.return?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Account voices

/** `labels.language`, else the first verified language, else English (ElevenLabs' default). */
const languageOf = (voice: JsonObject): string => filled(voice, "labels", "language") ?? filled(arr(voice, "verified_languages")?.[0], "language") ?? "en";

/** Its own description, else what its labels say ("british, female, middle aged"). */
function descriptionOf(voice: JsonObject): string {
  const labels = obj(voice, "labels");
  const fromLabels = ["accent", "gender", "age"].map((key) => filled(labels, key)).filter((v): v is string => v !== undefined);
  return filled(voice, "description") ?? fromLabels.join(", ");
}

function voiceInfoOf(voice: unknown): VoiceInfo | undefined {
  if (!isObject(voice)) return undefined;
  const id = filled(voice, "voice_id");
  if (id === undefined) return undefined;
  return {
    id: `${PROVIDER}:${id}`,
    provider: PROVIDER,
    voice: id,
    name: filled(voice, "name") ?? id,
    language: languageOf(voice),
    description: descriptionOf(voice),
  };
}

/** The account's voices that are not built in, each once. */
function accountVoicesOf(body: unknown): VoiceInfo[] {
  const voices = arr(body, "voices");
  if (!voices) throw unavailable(PROVIDER, "answered a body that could not be read");
  const found = new Map<string, VoiceInfo>();
  for (const entry of voices) {
    const info = voiceInfoOf(entry);
    if (info && !BUILT_IN_IDS.has(info.id) && !found.has(info.id)) found.set(info.id, info);
  }
  return [...found.values()];
}

// ---------------------------------------------------------------------------------------------

/** A request in ElevenLabs' own shape (`POST /v1/tts/elevenlabs`): its path, query and body parameters. */
export interface ElevenLabsNative {
  voiceId: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

/** Sends ElevenLabs' own request to its streaming endpoint with this deployment's key. */
export function elevenlabsProxy(request: ElevenLabsNative, ctx: ProviderContext): Promise<UpstreamResponse> {
  const query = new URLSearchParams(request.query).toString();
  const path = `/v1/text-to-speech/${encodeURIComponent(request.voiceId)}/stream${query ? `?${query}` : ""}`;
  return providerCall(UPSTREAM, { path, json: request.body }, ctx);
}

export const elevenlabs: TtsProvider = {
  id: PROVIDER,
  name: UPSTREAM.name,
  formats: ["mp3", "wav", "pcm_16000", "pcm_24000"],
  timings: true,
  voices: BUILT_IN,
  configured: (config) => isConfigured(UPSTREAM, config),

  async accountVoices(ctx) {
    if (!isConfigured(UPSTREAM, ctx.config)) return [];
    const upstream = await providerCall(UPSTREAM, { path: "/v1/voices" }, ctx);
    return accountVoicesOf(await upstream.json());
  },

  async synthesize(request, ctx) {
    const upstream = await providerCall(UPSTREAM, { path: speechPath(request), json: speechBody(request) }, ctx);
    // A streamed WAV's length is unknown up front, so its header says "until the end".
    const header = request.format === "wav" ? wavHeader({ sampleRate: sampleRateOf("wav") }) : undefined;
    // Taken now, so an iterator given back before its first next() can still release the body.
    const source = upstream.chunks();
    const chunks = request.timestamps ? timedChunks(source, request.format, header) : audioChunks(source, header);
    const logged = loggedStream(chunks, streamLogOf("tts", UPSTREAM, ctx));
    return { contentType: contentTypeOf(request.format), chunks: releasingEarly(logged, upstream) };
  },
};
