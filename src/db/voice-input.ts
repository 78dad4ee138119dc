import type { VoiceInputSettings } from "./schema";

/**
 * The defaults of a conversation's voice input, in the one place both the index (rows written
 * before voice input existed read as these) and the create service fill them from.
 *
 * The values follow shipped systems (reference/voice.md §3): an energy threshold near
 * @cloudflare/voice's (0.04 RMS on float samples; ours is lower because a 10 ms window is measured,
 * not 100 ms), 600 ms of silence to end a turn (OpenAI 500, LiveKit 550, Pipecat 600; long
 * enough to bridge a breath between sentences), 300 ms of prefix padding (OpenAI's), and 400 ms
 * of voice before the avatar is interrupted (LiveKit 500, SmooAI 200).
 */

export const DEFAULT_STT = "mock:default";

export const DEFAULT_TURN_DETECTION: VoiceInputSettings["turn_detection"] = {
  type: "server_vad",
  threshold: 0.02,
  silence_ms: 600,
  prefix_padding_ms: 300,
  min_interrupt_ms: 400,
};

/**
 * Backchannels: what a listener says to show it is listening, not to take the turn. Per language
 * (ISO 639-1); a conversation without a language gets English's.
 */
export const BACKCHANNELS: Readonly<Record<string, readonly string[]>> = {
  en: ["uh-huh", "uh huh", "mm-hmm", "mhm", "mm", "hmm", "yeah", "yep", "yes", "okay", "ok", "right", "sure", "i see", "got it", "aha", "uh", "um"],
  es: ["ajá", "aja", "sí", "si", "vale", "claro", "ya", "mm", "eh", "bueno", "okey"],
  fr: ["oui", "ouais", "d'accord", "ok", "hmm", "mm", "ah", "euh", "voilà", "bien sûr"],
  de: ["ja", "jaja", "genau", "okay", "ok", "mhm", "hm", "aha", "stimmt", "klar"],
};

export const defaultIgnoreWords = (language: string | null): string[] => [...(BACKCHANNELS[language ?? "en"] ?? BACKCHANNELS.en ?? [])];

/** `stored` (a row's JSON, possibly `{}` or partial) with every default filled in. */
export function voiceInputOf(stored: Partial<VoiceInputSettings>): VoiceInputSettings {
  const language = stored.input_language ?? null;
  return {
    input_audio_format: stored.input_audio_format ?? "pcm_16000",
    stt: stored.stt ?? DEFAULT_STT,
    input_language: language,
    turn_detection: { ...DEFAULT_TURN_DETECTION, ...stored.turn_detection },
    interruption: { enabled: stored.interruption?.enabled ?? true, ignore_words: stored.interruption?.ignore_words ?? defaultIgnoreWords(language) },
  };
}

/** What create and `session.update` may change; fields left out keep their value. */
export interface VoiceInputChange {
  input_audio_format?: VoiceInputSettings["input_audio_format"] | undefined;
  stt?: string | undefined;
  input_language?: string | null | undefined;
  turn_detection?: Partial<VoiceInputSettings["turn_detection"]> | undefined;
  interruption?: Partial<VoiceInputSettings["interruption"]> | undefined;
}

/**
 * `current` with `change` applied. A new language brings its own backchannels unless the change
 * names `ignore_words` or the conversation had set its own.
 */
export function changeVoiceInput(current: VoiceInputSettings, change: VoiceInputChange): VoiceInputSettings {
  const language = change.input_language === undefined ? current.input_language : change.input_language;
  const ownWords = current.interruption.ignore_words.join("\n") !== defaultIgnoreWords(current.input_language).join("\n");
  const ignoreWords = change.interruption?.ignore_words ?? (ownWords ? current.interruption.ignore_words : defaultIgnoreWords(language));
  return {
    input_audio_format: change.input_audio_format ?? current.input_audio_format,
    stt: change.stt ?? current.stt,
    input_language: language,
    turn_detection: { ...current.turn_detection, ...definedOnly(change.turn_detection) },
    interruption: { enabled: change.interruption?.enabled ?? current.interruption.enabled, ignore_words: ignoreWords },
  };
}

const definedOnly = <T extends object>(value: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
