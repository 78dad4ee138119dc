import type { Config } from "../../config";
import { ApiError } from "../../lib/errors";
import { callUpstream, releasingEarly, type UpstreamResponse } from "../upstream";
import { contentTypeOf } from "./audio";
import type { AudioFormat, SpeechChunk, SpeechContext, SpeechRequest, TtsProvider } from "./types";
import { VOICES } from "./voices";

/**
 * Deepgram Aura text-to-speech over REST (reference/upstreams.md §2): one POST per text, whose body
 * is the audio, streamed as it is synthesized and handed on chunk by chunk unchanged. Deepgram
 * gives no character timings.
 */

const PROVIDER = "deepgram";

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

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value : undefined);

/**
 * The explanation in a Deepgram error body. It comes in two shapes, and either may be sent:
 * `{err_code, err_msg, request_id}` and `{category, message, details, request_id}`.
 */
export const errorMessageOf = (body: unknown): string | undefined => text(field(body, "err_msg")) ?? text(field(body, "message"));

/** Deepgram's machine code, in either shape: `err_code` (`INVALID_AUTH`) or `category` (`INVALID_JSON`). */
export const errorCodeOf = (body: unknown): string | undefined => text(field(body, "err_code")) ?? text(field(body, "category"));

// ---------------------------------------------------------------------------------------------
// Requests

const settingsOf = (config: Config) => config.tts.deepgram;

/** `{baseUrl}/v1/speak?model=<voice>&<the format's query>[&speed=]`, whether or not the base URL ends with a slash. */
export function speakUrl(baseUrl: string, request: SpeechRequest): string {
  const query = new URLSearchParams({ model: request.voice, ...QUERY[request.format] });
  if (request.speed !== undefined) query.set("speed", String(request.speed));
  return `${baseUrl.replace(/\/+$/, "")}/v1/speak?${query.toString()}`;
}

function send(url: string, text: string, ctx: SpeechContext): Promise<UpstreamResponse> {
  const { apiKey } = settingsOf(ctx.config);
  if (!apiKey) throw new ApiError("provider.not_configured", "Deepgram is not configured on this deployment.");
  return callUpstream({
    provider: PROVIDER,
    url,
    init: {
      method: "POST",
      // Deepgram's API keys go with the word `Token`; `Bearer` is for its short-lived JWTs.
      headers: { Authorization: `Token ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    },
    firstByteTimeoutMs: ctx.config.tts.firstByteTimeoutMs,
    idleTimeoutMs: ctx.config.tts.idleTimeoutMs,
    signal: ctx.signal,
    secrets: [apiKey],
    errorMessage: errorMessageOf,
    errorCode: errorCodeOf,
    subject: "voice",
    log: ctx.log,
  });
}

/** Deepgram's own request (`POST /v1/tts/deepgram`): `text`, and its query options as they are. */
export function deepgramProxy(request: { text: string; query: Record<string, string> }, ctx: SpeechContext): Promise<UpstreamResponse> {
  const query = new URLSearchParams(request.query).toString();
  return send(`${settingsOf(ctx.config).baseUrl.replace(/\/+$/, "")}/v1/speak?${query}`, request.text, ctx);
}

/**
 * The upstream's chunks as they arrive. Leaving the loop (our consumer's `return()`, a failure)
 * returns the body's iterator, which cancels the upstream.
 */
async function* audioChunks(body: AsyncIterableIterator<Uint8Array>, ctx: SpeechContext): AsyncGenerator<SpeechChunk, void> {
  try {
    for await (const audio of body) {
      if (audio.byteLength > 0) yield { audio, alignment: null };
    }
  } catch (err) {
    // A caller that left (CallerGone) is nobody's failure; Deepgram breaking off is the operator's to know.
    if (err instanceof ApiError) ctx.log.warn("tts stream failed", { provider: PROVIDER, code: err.code, message: err.message });
    throw err;
  }
}

export const deepgram: TtsProvider = {
  id: PROVIDER,
  name: "Deepgram",
  formats: FORMATS,
  timings: false,
  voices: VOICES.filter((v) => v.provider === PROVIDER),
  configured: (config) => Boolean(settingsOf(config).apiKey),

  async synthesize(request, ctx) {
    const upstream = await send(speakUrl(settingsOf(ctx.config).baseUrl, request), request.text, ctx);
    return { contentType: contentTypeOf(request.format), chunks: releasingEarly(audioChunks(upstream.chunks(), ctx), upstream) };
  },
};
