import type { Config } from "../../config";
import type { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";

/**
 * The one interface of speech-to-text providers: mono PCM16 audio in, its text out, either whole
 * (`transcribe`: `POST /v1/stt`) or as a streaming session a conversation feeds while the user
 * speaks (`stream`). Callers never reach an upstream themselves.
 */

export const STT_PROVIDER_IDS = ["mock", "openai", "groq", "deepgram", "workers-ai"] as const;
export type SttProviderId = (typeof STT_PROVIDER_IDS)[number];

/** Mono 16-bit PCM at `sampleRate` Hz. */
export interface Pcm16 {
  samples: Int16Array;
  sampleRate: number;
}

export interface TranscriptionRequest {
  audio: Pcm16;
  /** The provider's own model id (no `provider:` prefix), one of its `models`. */
  model: string;
  /** ISO 639-1 code of the spoken language, when the caller knows it; providers detect it otherwise. */
  language?: string;
}

export interface Transcription {
  text: string;
  /** The language the provider says was spoken, when it says one. */
  language: string | null;
}

export interface SttProvider {
  readonly id: SttProviderId;
  readonly name: string;
  /** The models it offers, the first being its default. */
  readonly models: readonly string[];
  configured(config: Config): boolean;
  /**
   * The whole audio's text. Upstream failures are typed ApiErrors (provider.unavailable,
   * provider.timeout, provider.rejected...) under upstream.ts's rules, the key never in them.
   */
  transcribe(request: TranscriptionRequest, ctx: ProviderContext): Promise<Transcription>;
  /**
   * A streaming session for a conversation's voice input. Returns at once: a provider that must
   * connect first (Deepgram live) queues what is appended meanwhile, and reports a failure to
   * connect through `events.error`. `ctx.signal` aborting closes it like `close()`.
   */
  stream(options: SttStreamOptions, events: SttStreamEvents, ctx: ProviderContext): SttStream;
}

export interface SttStreamOptions {
  /** The provider's own model id, one of its `models`. */
  model: string;
  /** ISO 639-1, when the conversation knows it. */
  language?: string;
  /** The rate of the mono PCM16 audio `append` is given (16000 or 24000). */
  sampleRate: number;
}

/** What a session reports as it happens; every callback may be called from any later task. */
export interface SttStreamEvents {
  /**
   * The text heard so far in the current utterance: the whole of it (not a delta), which a later
   * call may revise. Never called with the same text twice in a row.
   */
  interim(text: string): void;
  /** The provider heard speech begin (Deepgram `SpeechStarted`, Flux `StartOfTurn`). Optional help for barge-in. */
  speechStarted(): void;
  /**
   * The provider's own endpointing says the user's turn is over (Deepgram `speech_final` or
   * `UtteranceEnd`, Flux `EndOfTurn`). The owner then calls `finish()` for the transcript.
   */
  endOfTurn(): void;
  /**
   * The session failed and is closed: a typed ApiError (provider.unavailable, provider.timeout,
   * provider.rejected...), the key never in it. Called at most once; nothing is reported after it.
   */
  error(error: ApiError): void;
}

export interface SttStream {
  /** Audio of the current utterance, in order. Never blocks; after `close()` or an error it is ignored. */
  append(samples: Int16Array): void;
  /**
   * The current utterance is over: its final transcript (empty text when nothing was said). The
   * session stays open for the next utterance, which starts with the next `append`. Rejects with
   * a typed ApiError when the provider fails.
   */
  finish(): Promise<Transcription>;
  /** Forgets the current utterance (what was appended since the last `finish`). */
  clear(): void;
  /** Closes the session and whatever it holds upstream (Deepgram: `CloseStream`). Idempotent. */
  close(): void;
}
