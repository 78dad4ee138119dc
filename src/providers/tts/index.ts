import { ApiError } from "../../lib/errors";
import { deepgram } from "./deepgram";
import { elevenlabs } from "./elevenlabs";
import { groq } from "./groq";
import { mock } from "./mock";
import type { AudioFormat, TtsProvider } from "./types";
import type { TtsProviderId, VoiceInfo } from "./voices";

/** Every speech provider, the built-in mock first (it is the one that always works). */
export const TTS_PROVIDERS: readonly TtsProvider[] = [mock, elevenlabs, deepgram, groq];

const providers = new Map<TtsProviderId, TtsProvider>(TTS_PROVIDERS.map((p) => [p.id, p]));

export const ttsProvider = (id: TtsProviderId): TtsProvider => {
  const provider = providers.get(id);
  if (!provider) throw new Error(`no speech provider ${id}`);
  return provider;
};

/** `422 format.unsupported` unless the voice's provider can give `format`. */
export function requireFormat(voice: VoiceInfo, format: AudioFormat, param = "format"): TtsProvider {
  const provider = ttsProvider(voice.provider);
  if (!provider.formats.includes(format)) {
    throw new ApiError("format.unsupported", `${provider.name} voices cannot give ${format}; they give ${provider.formats.join(", ")}.`, { param });
  }
  return provider;
}
