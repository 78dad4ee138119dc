import type { Config } from "../../config";
import type { ProviderContext } from "../context";
import type { Visemes } from "../visemes/track";
import type { Alignment } from "./alignment";
import type { TtsProviderId, VoiceInfo } from "./voices";

/**
 * The one interface of speech providers: text, voice and format in; a stream of audio bytes out,
 * abortable, with character timings where the provider gives them. `POST /v1/tts`, the preview and
 * the conversation pipeline all call providers through it and never reach an upstream themselves.
 */

/** The formats the API speaks; `pcm_*` is raw little-endian 16-bit mono at that rate. */
export const AUDIO_FORMATS = ["mp3", "wav", "pcm_16000", "pcm_24000"] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

export type { Alignment } from "./alignment";

export interface SpeechChunk {
  audio: Uint8Array;
  /** Timings of the characters whose sound starts in this chunk; null when the provider gives none. */
  alignment: Alignment | null;
  /** Mouth shapes for the chunk (added by the conversation, not by providers). */
  visemes?: Visemes | null;
}

export interface SpeechRequest {
  text: string;
  /** The provider's own voice id (no `provider:` prefix). */
  voice: string;
  format: AudioFormat;
  /** 0.5..2, 1 by default; providers without a speed setting ignore it. */
  speed?: number;
  /** Ask for character timings (the providers that can give them do). */
  timestamps?: boolean;
}

export interface SpeechStream {
  /** The audio's media type, e.g. `audio/wav`. */
  contentType: string;
  /**
   * The audio, chunk by chunk, as it arrives. Upstream failures midway are thrown by the iterator
   * (provider.unavailable / provider.timeout); `return()` or aborting the call's signal cancels the
   * upstream request.
   */
  chunks: AsyncIterableIterator<SpeechChunk>;
}

export interface TtsProvider {
  readonly id: TtsProviderId;
  readonly name: string;
  /** The formats it can give (anything else is `422 format.unsupported`). */
  readonly formats: readonly AudioFormat[];
  /** Whether it gives character timings. */
  readonly timings: boolean;
  configured(config: Config): boolean;
  /** Its built-in voices (ElevenLabs adds an account's own at run time, see `accountVoices`). */
  readonly voices: readonly VoiceInfo[];
  /** Voices of the configured account beyond the built-in ones (cloned, designed...), when it has any. */
  accountVoices?(ctx: ProviderContext): Promise<VoiceInfo[]>;
  /**
   * Resolves once the upstream has accepted the request (its status is known), so failures before
   * any audio are thrown here and can still become an HTTP error.
   */
  synthesize(request: SpeechRequest, ctx: ProviderContext): Promise<SpeechStream>;
}
