import { arr, str } from "../json";
import { isConfigured, type ProviderDescriptor, providerCall, providerSocket } from "../provider-call";
import { DEEPGRAM_UPSTREAM } from "../tts/deepgram";
import { monoWav } from "../tts/wav";
import { unavailable } from "../upstream";
import { DEEPGRAM_LIVE, livePath } from "./deepgram-live";
import { KEEP_ALIVE_MS, liveSession } from "./live-session";
import type { SttProvider, TranscriptionRequest } from "./types";
import { transcriptionWaits } from "./waits";

/**
 * Deepgram's prerecorded transcription (reference/voice.md §1.3): the whole audio as a WAV in the
 * body of one POST, its transcript back as JSON. Same key, base URL and error bodies as its speech.
 */

const UPSTREAM: ProviderDescriptor = { ...DEEPGRAM_UPSTREAM, subject: "model", setupHint: "the operator must set DEEPGRAM_API_KEY" };

/**
 * `/v1/listen?model=&smart_format=true` and the language when the caller knows it. Otherwise
 * Deepgram is asked to detect it: left alone it assumes English rather than detecting.
 */
export function listenPath(request: TranscriptionRequest): string {
  const query = new URLSearchParams({ model: request.model, smart_format: "true" });
  if (request.language) query.set("language", request.language);
  else query.set("detect_language", "true");
  return `/v1/listen?${query.toString()}`;
}

/** A BCP 47-looking tag (`en`, `pt-BR`): anything else an upstream says is not passed on as a language. */
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/;

/** The transcript and detected language of `results.channels[0]`, or undefined when the answer has no transcript. */
export function transcriptOf(body: unknown): { text: string; language: string | null } | undefined {
  const channel = arr(body, "results", "channels")?.[0];
  const text = str(arr(channel, "alternatives")?.[0], "transcript");
  if (text === undefined) return undefined;
  const language = str(channel, "detected_language");
  return { text: text.trim(), language: language !== undefined && LANGUAGE_TAG.test(language) ? language : null };
}

export const deepgram: SttProvider = {
  id: "deepgram",
  name: UPSTREAM.name,
  models: ["nova-3", "nova-2"],
  configured: (config) => isConfigured(UPSTREAM, config),
  // Live over a WebSocket: interim text as the user speaks, and Deepgram's own endpointing.
  stream(options, events, ctx) {
    const waits = { firstByteTimeoutMs: ctx.config.tts.firstByteTimeoutMs, idleTimeoutMs: Number.POSITIVE_INFINITY };
    return liveSession(() => providerSocket(UPSTREAM, { path: livePath(options), waits }, ctx), DEEPGRAM_LIVE, events, ctx, {
      provider: UPSTREAM.id,
      finishTimeoutMs: ctx.config.tts.firstByteTimeoutMs,
      keepAliveMs: KEEP_ALIVE_MS,
    });
  },
  async transcribe(request, ctx) {
    const answer = await providerCall(
      UPSTREAM,
      {
        path: listenPath(request),
        body: { data: monoWav(request.audio.samples, request.audio.sampleRate), contentType: "audio/wav" },
        waits: transcriptionWaits(ctx.config, request.audio),
      },
      ctx,
    );
    const transcript = transcriptOf(await answer.json());
    if (!transcript) throw unavailable(UPSTREAM.id, "answered a body that could not be read");
    return transcript;
  },
};
