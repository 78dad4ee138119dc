import type { Config } from "../config";
import { encodeBase64 } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { requireFormat } from "../providers/tts";
import type { AudioFormat, SpeechChunk, TtsProvider } from "../providers/tts/types";
import type { VoiceInfo } from "../providers/tts/voices";
import { CallerGone } from "../providers/upstream";
import { englishG2p } from "../providers/visemes/english";
import { planVisemes } from "../providers/visemes/plan";
import { Pace, VisemeTrack } from "../providers/visemes/track";
import { resolveVoice } from "./voices";

/**
 * The TTS gateway: text in, a voice's audio out, streamed as it is made. Nothing is sent before the
 * first audio exists, so a provider that fails or stays silent is still answered with a proper
 * error (`503 provider.timeout`, ...); after that, a failure aborts the stream. A client that goes
 * away cancels the upstream request.
 */

export interface SpeakInput {
  text: string;
  /** `<provider>:<voice>`; the deployment's default voice when absent. */
  voiceId?: string | undefined;
  format: AudioFormat;
  speed?: number | undefined;
  /** NDJSON lines of base64 audio with character timings instead of raw audio. */
  timestamps: boolean;
  /** NDJSON lines with visemes (and the voice's timings where it gives them). */
  visemes?: boolean | undefined;
}

interface Deps {
  config: Config;
  log: Logger;
}

export interface Spoken {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  provider: TtsProvider;
  voice: VoiceInfo;
  /** Characters synthesized (Unicode code points), the unit providers bill. */
  characters: number;
  /** Settles when the stream has ended, whether it finished, failed or was cancelled. */
  finished: Promise<void>;
}

/** The voice, its provider and an open upstream stream: the first step of every synthesis. */
export async function openSpeech(input: Omit<SpeakInput, "timestamps"> & { timestamps?: boolean }, deps: Deps, signal: AbortSignal) {
  const voice = await resolveVoice(input.voiceId ?? deps.config.tts.defaultVoiceId, deps, "voice_id");
  const provider = requireFormat(voice, input.format);
  if (!provider.configured(deps.config)) {
    throw new ApiError("provider.not_configured", `${provider.name} is not configured on this deployment; use another voice (the mock:* voices always work).`);
  }
  const speech = await provider.synthesize(
    {
      text: input.text,
      voice: voice.voice,
      format: input.format,
      ...(input.speed === undefined ? {} : { speed: input.speed }),
      timestamps: input.timestamps === true,
    },
    { signal, config: deps.config, log: deps.log },
  );
  return { voice, provider, speech };
}

const encoder = new TextEncoder();
const ndjsonLine = (chunk: SpeechChunk) =>
  encoder.encode(
    `${JSON.stringify({ audio: encodeBase64(chunk.audio), alignment: chunk.alignment, ...(chunk.visemes === undefined ? {} : { visemes: chunk.visemes }) })}\n`,
  );

/** PCM sample rates of the formats visemes can be read from (mp3 would need decoding). */
const PCM_RATES: Partial<Record<AudioFormat, number>> = { pcm_16000: 16_000, pcm_24000: 24_000, wav: 24_000 };

/**
 * Each chunk with its visemes: from the voice's timings where it gives them, else from the audio,
 * at the pace of an ordinary voice (the whole text's length in audio is not known while it streams).
 */
function withVisemes(text: string, format: AudioFormat): (chunk: SpeechChunk) => SpeechChunk {
  const track = new VisemeTrack(planVisemes(text, englishG2p()), PCM_RATES[format] ?? 24_000, new Pace());
  return (chunk) => ({ ...chunk, visemes: track.frame(chunk.audio, chunk.alignment, null) });
}

/**
 * The audio as a response body: waits for the first chunk (until it exists every failure is still
 * an HTTP error), then streams the rest as it comes. A failure later cuts the stream; a client
 * that goes away aborts `abort`, which cancels the upstream.
 */
export async function audioBody<T>(
  chunks: AsyncIterableIterator<T>,
  encode: (chunk: T) => Uint8Array,
  abort: AbortController,
  context: { log: Logger; provider: string },
): Promise<{ body: ReadableStream<Uint8Array>; finished: Promise<void> }> {
  let pending: IteratorResult<T> | undefined = await chunks.next().catch((err: unknown) => {
    abort.abort();
    throw err;
  });
  let settle = () => {};
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await chunks.next());
        pending = undefined;
        if (next.done) {
          controller.close();
          settle();
          return;
        }
        controller.enqueue(encode(next.value));
      } catch (err) {
        settle();
        if (err instanceof CallerGone) return controller.close();
        // Headers are gone: all that is left is to stop, so the client sees a cut stream.
        context.log.warn("speech stream failed", { provider: context.provider, error: err instanceof ApiError ? err.code : String(err) });
        controller.error(err);
      }
    },
    async cancel() {
      abort.abort();
      await chunks.return?.();
      settle();
    },
  });
  return { body, finished };
}

export async function speak(input: SpeakInput, deps: Deps): Promise<Spoken> {
  const abort = new AbortController();
  if (input.visemes && PCM_RATES[input.format] === undefined) {
    throw new ApiError("format.unsupported", "Visemes are read from PCM audio: ask for wav, pcm_16000 or pcm_24000 with `visemes: true`.", { param: "format" });
  }
  const ndjson = input.timestamps || input.visemes === true;
  const { voice, provider, speech } = await openSpeech({ ...input, timestamps: ndjson }, deps, abort.signal);
  const visemes = input.visemes ? withVisemes(input.text, input.format) : undefined;
  const encode = ndjson ? (chunk: SpeechChunk) => ndjsonLine(visemes ? visemes(chunk) : chunk) : (chunk: SpeechChunk) => chunk.audio;
  const { body, finished } = await audioBody(speech.chunks, encode, abort, { log: deps.log, provider: provider.id });
  return {
    body,
    contentType: ndjson ? "application/x-ndjson" : speech.contentType,
    provider,
    voice,
    characters: [...input.text].length,
    finished,
  };
}
