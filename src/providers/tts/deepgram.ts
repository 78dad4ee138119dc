import type { ProviderContext } from "../context";
import { filled } from "../json";
import { isConfigured, type ProviderDescriptor, providerCall, ttsWaits } from "../provider-call";
import { loggedStream, streamLogOf } from "../stream-log";
import { releasingEarly, type UpstreamResponse } from "../upstream";
import { contentTypeOf } from "./audio";
import type { AudioFormat, SpeechChunk, SpeechRequest, TtsProvider } from "./types";
import { VOICES } from "./voices";

/**
 * Deepgram Aura text-to-speech over REST (reference/upstreams.md §2): one POST per text, whose body
 * is the audio, streamed as it is synthesized and handed on chunk by chunk unchanged. Deepgram
 * gives no character timings.
 */

const PROVIDER = "deepgram";

/**
 * The explanation in a Deepgram error body. It comes in two shapes, and either may be sent:
 * `{err_code, err_msg, request_id}` and `{category, message, details, request_id}`.
 */
export const errorMessageOf = (body: unknown): string | undefined => filled(body, "err_msg") ?? filled(body, "message");

/** Deepgram's machine code, in either shape: `err_code` (`INVALID_AUTH`) or `category` (`INVALID_JSON`). */
export const errorCodeOf = (body: unknown): string | undefined => filled(body, "err_code") ?? filled(body, "category");

/** Deepgram as an upstream: its speech, and its transcription too (providers/stt/deepgram.ts). */
export const DEEPGRAM_UPSTREAM: ProviderDescriptor = {
  id: PROVIDER,
  name: "Deepgram",
  settings: (config) => config.tts.deepgram,
  waits: ttsWaits,
  // Deepgram's API keys go with the word `Token`; `Bearer` is for its short-lived JWTs.
  auth: (apiKey) => ({ Authorization: `Token ${apiKey}` }),
  errorMessage: errorMessageOf,
  errorCode: errorCodeOf,
  subject: "voice",
};

/**
 * The query that asks for each format. `encoding` is always sent because Deepgram's own pages
 * disagree on the default (linear16 in a WAV on one, mp3 on another). mp3 has a fixed rate, so it
 * takes neither a container nor a sample rate; the `pcm_*` formats are bare linear16
 * (`container=none`), `wav` is linear16 in Deepgram's WAV container at our 24 kHz.
 */
const QUERY: Record<AudioFormat, Readonly<Record<string, string>>> = {
  mp3: { encoding: "mp3" },
  wav: { encoding: "linear16", container: "wav", sample_rate: "24000" },
  pcm_16000: { encoding: "linear16", container: "none", sample_rate: "16000" },
  pcm_24000: { encoding: "linear16", container: "none", sample_rate: "24000" },
};

const FORMATS: readonly AudioFormat[] = ["mp3", "wav", "pcm_16000", "pcm_24000"];

/** `/v1/speak?model=<voice>&<the format's query>[&speed=]`. */
export function speakPath(request: SpeechRequest): string {
  const query = new URLSearchParams({ model: request.voice, ...QUERY[request.format] });
  if (request.speed !== undefined) query.set("speed", String(request.speed));
  return `/v1/speak?${query.toString()}`;
}

const send = (path: string, text: string, ctx: ProviderContext): Promise<UpstreamResponse> => providerCall(DEEPGRAM_UPSTREAM, { path, json: { text } }, ctx);

/** Deepgram's own request (`POST /v1/tts/deepgram`): `text`, and its query options as they are. */
export function deepgramProxy(request: { text: string; query: Record<string, string> }, ctx: ProviderContext): Promise<UpstreamResponse> {
  return send(`/v1/speak?${new URLSearchParams(request.query).toString()}`, request.text, ctx);
}

/**
 * The upstream's chunks as they arrive. Leaving the loop (our consumer's `return()`, a failure)
 * returns the body's iterator, which cancels the upstream.
 */
async function* audioChunks(body: AsyncIterableIterator<Uint8Array>): AsyncGenerator<SpeechChunk, void> {
  for await (const audio of body) {
    if (audio.byteLength > 0) yield { audio, alignment: null };
  }
}

export const deepgram: TtsProvider = {
  id: PROVIDER,
  name: DEEPGRAM_UPSTREAM.name,
  formats: FORMATS,
  timings: false,
  voices: VOICES.filter((v) => v.provider === PROVIDER),
  configured: (config) => isConfigured(DEEPGRAM_UPSTREAM, config),

  async synthesize(request, ctx) {
    const upstream = await send(speakPath(request), request.text, ctx);
    const chunks = loggedStream(audioChunks(upstream.chunks()), streamLogOf("tts", DEEPGRAM_UPSTREAM, ctx));
    return { contentType: contentTypeOf(request.format), chunks: releasingEarly(chunks, upstream) };
  },
};
