import { MOCK_VOICES } from "./mock-speech";

/**
 * The voices every deployment knows, by provider. Ids are `<provider>:<voice>`; the part after the
 * colon is what the provider itself calls the voice. (An ElevenLabs account's own cloned voices are
 * added at run time by the TTS gateway when ElevenLabs is configured.)
 */

export type TtsProviderId = "mock" | "elevenlabs" | "deepgram" | "groq";

export interface VoiceInfo {
  id: string;
  provider: TtsProviderId;
  /** The provider's own voice id or name. */
  voice: string;
  name: string;
  /** BCP 47 primary language. */
  language: string;
  description: string;
  /** A sample recording the provider publishes (an account's voices have one), if any. */
  previewUrl?: string;
}

const voice = (provider: TtsProviderId, id: string, name: string, language: string, description: string): VoiceInfo => ({
  id: `${provider}:${id}`,
  provider,
  voice: id,
  name,
  language,
  description,
});

const MOCK = MOCK_VOICES.map((v) => voice("mock", v.id, v.name, v.language, v.description));

// ElevenLabs' premade library voices (shared by every account).
const ELEVENLABS: VoiceInfo[] = [
  ["21m00Tcm4TlvDq8ikWAM", "Rachel", "calm, young American woman"],
  ["9BWtsMINqrJLrRacOk9x", "Aria", "expressive American woman"],
  ["EXAVITQu4vr4xnSDxMaL", "Sarah", "soft, warm American woman"],
  ["FGY2WhTYpPnrIDTdsKH5", "Laura", "upbeat American woman"],
  ["XB0fDUnXU5powFXDhCwa", "Charlotte", "seductive Swedish-English woman"],
  ["Xb7hH8MSUJpSbSDYk0k2", "Alice", "confident British woman"],
  ["XrExE9yKIg1WjnnlVkGX", "Matilda", "friendly American woman"],
  ["cgSgspJ2msm6clMCkdW9", "Jessica", "expressive, young American woman"],
  ["pFZP5JQG7iQjIQuC4Bku", "Lily", "warm British woman"],
  ["CwhRBWXzGAHq8TQ4Fs17", "Roger", "confident American man"],
  ["IKne3meq5aSn9XLyUdCD", "Charlie", "natural Australian man"],
  ["JBFqnCBsd6RMkjVDRZzb", "George", "warm British man"],
  ["N2lVS1w4EtoT3dr4eOWO", "Callum", "intense Transatlantic man"],
  ["TX3LPaxmHKxFdv7VOQHJ", "Liam", "articulate American man"],
  ["bIHbv24MWmeRgasZH58o", "Will", "friendly American man"],
  ["cjVigY5qzO86Huf0OWal", "Eric", "friendly American man"],
  ["iP95p4xoKVk53GoZ742B", "Chris", "casual American man"],
  ["nPczCjzI2devNBz1zQrb", "Brian", "deep American man"],
  ["onwK4e9ZLuTAKqWW03F9", "Daniel", "authoritative British man"],
  ["pqHfZKP75CvOlQylNhV4", "Bill", "trustworthy American man"],
  ["SAz9YHcvj6GT2YYXdXww", "River", "confident, neutral American voice"],
].map(([id = "", name = "", description = ""]) => voice("elevenlabs", id, name, "en", description));

// Deepgram Aura-2 (the ids are the `model` of /v1/speak).
const DEEPGRAM: VoiceInfo[] = [
  ["aura-2-thalia-en", "Thalia", "en", "clear, confident American woman"],
  ["aura-2-andromeda-en", "Andromeda", "en", "casual, expressive American woman"],
  ["aura-2-helena-en", "Helena", "en", "caring, friendly American woman"],
  ["aura-2-asteria-en", "Asteria", "en", "clear, energetic American woman"],
  ["aura-2-athena-en", "Athena", "en", "calm, professional American woman"],
  ["aura-2-luna-en", "Luna", "en", "friendly, natural American woman"],
  ["aura-2-apollo-en", "Apollo", "en", "confident, casual American man"],
  ["aura-2-arcas-en", "Arcas", "en", "natural, smooth American man"],
  ["aura-2-orion-en", "Orion", "en", "approachable, calm American man"],
  ["aura-2-zeus-en", "Zeus", "en", "deep, trustworthy American man"],
  ["aura-2-draco-en", "Draco", "en", "warm British man"],
  ["aura-2-celeste-es", "Celeste", "es", "clear, energetic Colombian woman"],
  ["aura-2-estrella-es", "Estrella", "es", "natural, calm Mexican woman"],
  ["aura-2-nestor-es", "Nestor", "es", "calm, professional Spanish man"],
].map(([id = "", name = "", language = "", description = ""]) => voice("deepgram", id, name, language, description));

// Groq's Orpheus voices: English (canopylabs/orpheus-v1-english) and Saudi Arabic (orpheus-arabic-saudi).
const GROQ: VoiceInfo[] = [
  ["autumn", "Autumn", "en", "warm woman"],
  ["diana", "Diana", "en", "bright woman"],
  ["hannah", "Hannah", "en", "gentle woman"],
  ["austin", "Austin", "en", "relaxed man"],
  ["daniel", "Daniel", "en", "clear man"],
  ["troy", "Troy", "en", "deep man"],
  ["abdullah", "Abdullah", "ar", "Saudi Arabic man"],
  ["fahad", "Fahad", "ar", "Saudi Arabic man"],
  ["sultan", "Sultan", "ar", "Saudi Arabic man"],
  ["lulwa", "Lulwa", "ar", "Saudi Arabic woman"],
  ["noura", "Noura", "ar", "Saudi Arabic woman"],
  ["aisha", "Aisha", "ar", "Saudi Arabic woman"],
].map(([id = "", name = "", language = "", description = ""]) => voice("groq", id, name, language, description));

/** Every built-in voice, mock first (the default wherever nothing else is configured). */
export const VOICES: readonly VoiceInfo[] = [...MOCK, ...ELEVENLABS, ...DEEPGRAM, ...GROQ];

const byId = new Map(VOICES.map((v) => [v.id, v]));

/** A built-in voice by its public id, or undefined. */
export const findVoice = (id: string): VoiceInfo | undefined => byId.get(id);
