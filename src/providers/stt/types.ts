import type { Config } from "../../config";
import type { ProviderContext } from "../context";

/**
 * The one interface of speech-to-text providers: mono PCM16 audio in, its text out. `POST /v1/stt`
 * calls providers through it and never reaches an upstream itself. (Voice input in conversations
 * will add a streaming session beside `transcribe`.)
 */

export const STT_PROVIDER_IDS = ["mock", "openai", "groq", "deepgram"] as const;
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
}
