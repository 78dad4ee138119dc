import type { Config } from "../../config";
import { ttsWaits, type Waits } from "../provider-call";
import type { Pcm16 } from "./types";

/**
 * How long a transcription may take to answer. A transcript comes once the provider has heard the
 * whole file, so the speech settings' first-byte wait (`TTS_FIRST_BYTE_TIMEOUT_MS`) grows by a
 * second for every 10 s of audio: providers transcribe well over ten times faster than real time,
 * and the largest upload (25 MiB, ~13 minutes at 16 kHz) then gets ~80 s more.
 */
export function transcriptionWaits(config: Config, audio: Pcm16): Waits {
  const waits = ttsWaits(config);
  const seconds = audio.samples.length / audio.sampleRate;
  return { ...waits, firstByteTimeoutMs: waits.firstByteTimeoutMs + Math.ceil(seconds / 10) * 1000 };
}
