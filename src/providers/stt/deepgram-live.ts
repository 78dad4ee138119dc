import { arr, at, str } from "../json";
import type { JsonMessage, LiveMessage, LiveProtocol } from "./live-session";
import type { SttStreamOptions } from "./types";

/**
 * Deepgram's live transcription protocol (reference/voice.md §1.1), for its own socket and for
 * Workers AI's `@cf/deepgram/nova-3`: binary audio in; `Results` (interim, `is_final` segments,
 * `speech_final` at an endpoint, `from_finalize` after a `Finalize`), `SpeechStarted` and
 * `UtteranceEnd` out; `KeepAlive`, `Finalize` and `CloseStream` as text frames.
 */

/** Endpointing after 300 ms of silence, utterance ends after 1 s: Deepgram's advice for conversation. */
export const ENDPOINTING_MS = 300;
export const UTTERANCE_END_MS = 1000;

/** The live query: linear16 mono at the conversation's rate, interim results and the VAD events. */
export function livePath(options: SttStreamOptions): string {
  const query = new URLSearchParams({
    model: options.model,
    encoding: "linear16",
    sample_rate: String(options.sampleRate),
    channels: "1",
    interim_results: "true",
    vad_events: "true",
    endpointing: String(ENDPOINTING_MS),
    utterance_end_ms: String(UTTERANCE_END_MS),
    smart_format: "true",
  });
  if (options.language) query.set("language", options.language);
  return `/v1/listen?${query.toString()}`;
}

export const DEEPGRAM_LIVE: LiveProtocol = {
  finalize: JSON.stringify({ type: "Finalize" }),
  keepAlive: JSON.stringify({ type: "KeepAlive" }),
  closeStream: JSON.stringify({ type: "CloseStream" }),
  read(message: JsonMessage): LiveMessage {
    switch (message.type) {
      case "Results": {
        const transcript = str(arr(message, "channel", "alternatives")?.[0], "transcript") ?? "";
        return {
          kind: "segment",
          text: transcript.trim(),
          final: at(message, "is_final") === true,
          flushed: at(message, "from_finalize") === true,
          endOfTurn: at(message, "speech_final") === true,
        };
      }
      case "SpeechStarted":
        return { kind: "speech_started" };
      case "UtteranceEnd":
        return { kind: "end_of_turn" };
      default:
        // Metadata, and whatever Deepgram adds later.
        return { kind: "ignored" };
    }
  },
};
