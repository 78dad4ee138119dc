import { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";
import { CallerGone } from "../upstream";
import type { Pcm16, SttStream, SttStreamEvents, SttStreamOptions, Transcription, TranscriptionRequest } from "./types";

/**
 * A streaming session for providers that only transcribe whole audio (OpenAI, Groq, the mock,
 * Whisper on Workers AI): the utterance's audio is kept as it comes and sent in one request when
 * the utterance is over (`finish`). A failed request rejects that `finish` only; the session
 * stays usable for the next utterance (there is no connection to lose), so `events.error` is
 * never called.
 *
 * `interim`, when given, makes a reader for each utterance, which reads the audio so far every
 * `INTERIM_EVERY_MS` of new audio, for providers that can do that for nothing (the mock): barge-in
 * needs the words while they are said.
 */

/** The longest utterance kept (what @cloudflare/voice keeps); audio past it is dropped. */
export const MAX_BUFFER_MS = 30_000;
/** New audio between two interim readings. */
export const INTERIM_EVERY_MS = 200;

export type Transcribe = (request: TranscriptionRequest, ctx: ProviderContext) => Promise<Transcription>;

export function bufferedStream(
  transcribe: Transcribe,
  options: SttStreamOptions,
  events: SttStreamEvents,
  ctx: ProviderContext,
  interim?: () => (audio: Pcm16) => string | undefined,
): SttStream {
  const rate = options.sampleRate;
  const maxSamples = (MAX_BUFFER_MS * rate) / 1000;
  const interimEvery = (INTERIM_EVERY_MS * rate) / 1000;
  let parts: Int16Array[] = [];
  let length = 0;
  let sinceInterim = 0;
  let lastInterim = "";
  let reader = interim?.();
  let warned = false;
  let closed = false;
  const close = () => {
    closed = true;
    parts = [];
    length = 0;
  };
  ctx.signal.addEventListener("abort", close, { once: true });

  const audio = (): Pcm16 => {
    const samples = new Int16Array(length);
    let at = 0;
    for (const part of parts) {
      samples.set(part, at);
      at += part.length;
    }
    // One part from now on: the next reading copies once, not every part again.
    parts = [samples];
    return { samples, sampleRate: rate };
  };

  return {
    append(samples) {
      if (closed || samples.length === 0) return;
      const room = maxSamples - length;
      if (room <= 0) {
        if (!warned) ctx.log.warn("speech-to-text: utterance longer than the buffer; the rest is dropped", { max_ms: MAX_BUFFER_MS });
        warned = true;
        return;
      }
      const kept = samples.length <= room ? samples : samples.subarray(0, room);
      // Copied: the caller's frame may be a view of a buffer it reuses.
      parts.push(kept.slice());
      length += kept.length;
      sinceInterim += kept.length;
      if (reader && sinceInterim >= interimEvery) {
        sinceInterim = 0;
        const text = reader(audio());
        if (text !== undefined && text !== lastInterim) {
          lastInterim = text;
          events.interim(text);
        }
      }
    },
    async finish() {
      if (closed) throw new CallerGone();
      const whole = audio();
      parts = [];
      length = 0;
      sinceInterim = 0;
      lastInterim = "";
      reader = interim?.();
      warned = false;
      if (whole.samples.length === 0) return { text: "", language: null };
      const request: TranscriptionRequest = { audio: whole, model: options.model, ...(options.language ? { language: options.language } : {}) };
      try {
        return await transcribe(request, ctx);
      } catch (err) {
        throw err instanceof ApiError || err instanceof CallerGone ? err : new ApiError("provider.unavailable", "Speech-to-text failed.");
      }
    },
    clear() {
      parts = [];
      length = 0;
      sinceInterim = 0;
      lastInterim = "";
      reader = interim?.();
    },
    close,
  };
}
