import type { Config } from "../config";
import { ApiError, quote } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { parseSttModel } from "../providers/stt";
import type { Pcm16 } from "../providers/stt/types";
import { bytesToPcm16, isRiff, parseWav } from "../providers/tts/wav";

/**
 * `POST /v1/stt`: an uploaded file made into mono PCM16 and transcribed by the model's provider.
 * Everything about the upload is checked before a provider is called, so a bad file costs nobody
 * an upstream request.
 */

export type InputAudioFormat = "pcm_16000" | "pcm_24000";

export interface TranscribeInput {
  file: File;
  /** `provider:model`. */
  model: string;
  language?: string;
  /** Only for raw PCM: its rate. */
  inputAudioFormat?: InputAudioFormat;
}

export interface Transcribed {
  text: string;
  language: string | null;
  provider: string;
  durationS: number;
}

/** Rates every provider takes; the mock voice's data needs at least 8 kHz (its tones reach 3.8 kHz). */
const MIN_RATE = 8000;
const MAX_RATE = 48_000;
const RATES: Record<InputAudioFormat, number> = { pcm_16000: 16_000, pcm_24000: 24_000 };

export async function transcribeUpload(input: TranscribeInput, deps: { config: Config; log: Logger; signal: AbortSignal }): Promise<Transcribed> {
  const chosen = parseSttModel(input.model);
  if (!chosen) {
    throw new ApiError("model.unknown", `No speech-to-text model ${quote(input.model)}; see the model field's description for the ones there are.`, {
      param: "model",
    });
  }
  const audio = decodeUpload(new Uint8Array(await input.file.arrayBuffer()), input.inputAudioFormat);
  const { provider, model } = chosen;
  const result = await provider.transcribe({ audio, model, ...(input.language ? { language: input.language } : {}) }, deps);
  return { text: result.text, language: result.language, provider: provider.id, durationS: audio.samples.length / audio.sampleRate };
}

/** The upload as mono PCM16: a WAV file by its header, anything else as raw PCM at the rate given. */
export function decodeUpload(bytes: Uint8Array, inputAudioFormat: InputAudioFormat | undefined): Pcm16 {
  let audio: Pcm16;
  if (isRiff(bytes)) {
    if (inputAudioFormat) {
      throw new ApiError("parameter.invalid", "The file is a WAV file, which says its own rate: leave input_audio_format out.", {
        param: "input_audio_format",
      });
    }
    audio = wavAudio(bytes);
  } else {
    if (!inputAudioFormat) {
      throw new ApiError("parameter.invalid", "The file is not a WAV file (no RIFF header); for raw PCM16 mono, say its rate with input_audio_format.", {
        param: "file",
      });
    }
    if (bytes.length % 2 !== 0) throw new ApiError("parameter.invalid", "Raw PCM16 has two bytes a sample; the file has an odd length.", { param: "file" });
    audio = { samples: bytesToPcm16(bytes), sampleRate: RATES[inputAudioFormat] };
  }
  if (audio.samples.length === 0) throw new ApiError("parameter.invalid", "The file holds no audio.", { param: "file" });
  return audio;
}

function wavAudio(bytes: Uint8Array): Pcm16 {
  let wav: ReturnType<typeof parseWav>;
  try {
    wav = parseWav(bytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseWav reads only 16-bit PCM; another encoding is a file we understand but do not take.
    if (message.startsWith("unsupported WAV encoding")) throw new ApiError("format.unsupported", `${message}.`, { param: "file" });
    throw new ApiError("parameter.invalid", `The WAV file cannot be read: ${message}.`, { param: "file" });
  }
  if (wav.sampleRate < MIN_RATE || wav.sampleRate > MAX_RATE) {
    throw new ApiError("format.unsupported", `The WAV file's rate is ${wav.sampleRate} Hz; ${MIN_RATE} to ${MAX_RATE} Hz are taken.`, { param: "file" });
  }
  return { samples: mixDown(wav.samples, wav.channels), sampleRate: wav.sampleRate };
}

/** Interleaved channels averaged into one. */
function mixDown(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  const mono = new Int16Array(Math.floor(samples.length / channels));
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c] ?? 0;
    mono[i] = Math.round(sum / channels);
  }
  return mono;
}
