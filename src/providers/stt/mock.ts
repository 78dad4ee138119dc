import { decodeSpeech } from "../tts/mock-speech";
import { CallerGone } from "../upstream";
import { bufferedStream } from "./buffered";
import type { Pcm16, SttProvider } from "./types";

/**
 * The built-in listener: it reads back the speech the mock voices make (mock-speech.ts encodes the
 * text in the audio itself), so a whole voice conversation runs offline. Anything else it hears
 * (silence, noise, a real voice) it cannot understand, and says so with the audio's length.
 */

/**
 * What decoding anything but mock speech gives away: nothing at all (silence and steady sound have
 * no bursts), or bytes that are not text. Bursts of noise or of a real voice read as random bytes,
 * which are almost never valid UTF-8 free of control characters: U+FFFD marks the invalid ones, and
 * \p{Cc} (control), \p{Cs} (lone surrogate), \p{Co} (private use) and \p{Cn} (unassigned) never
 * occur in a text the mock voice was given to say.
 */
const NOT_TEXT = /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\uFFFD]/u;

/** `[unrecognised audio, 1.2 s]`: what the mock hears in a sound that is not its own voice. */
export const unrecognised = (audio: Pcm16): string => `[unrecognised audio, ${(audio.samples.length / audio.sampleRate).toFixed(1)} s]`;

/**
 * The most sound a character of mock speech makes: its burst is at most 138 ms (the slowest voice
 * at half speed); a little more for what resampling smears. More sound than that per character
 * read is a steady sound (a hum, a held vowel) that happened to read as a few characters.
 */
const MAX_SOUND_MS_PER_CHAR = 160;
const SOUND_LEVEL = 200;

/** Milliseconds of `audio` that are sound, in 4 ms windows. */
function soundMs(audio: Pcm16): number {
  const size = Math.max(1, Math.round(audio.sampleRate * 0.004));
  let windows = 0;
  for (let at = 0; at + size <= audio.samples.length; at += size) {
    let sum = 0;
    for (let i = at; i < at + size; i++) sum += Math.abs(audio.samples[i] as number);
    if (sum / size >= SOUND_LEVEL) windows += 1;
  }
  return windows * 4;
}

/** The text of mock speech, or undefined for any other sound. */
export function readMockSpeech(audio: Pcm16): string | undefined {
  let text: string;
  try {
    text = decodeSpeech(audio.samples, audio.sampleRate);
  } catch {
    // Below 8 kHz the voice's highest tone cannot be there: whatever this is, it is not mock speech.
    return undefined;
  }
  if (text === "" || NOT_TEXT.test(text)) return undefined;
  const characters = text.replace(/\s/gu, "").length;
  return soundMs(audio) > characters * MAX_SOUND_MS_PER_CHAR ? undefined : text;
}

/** Below this mean absolute level a 4 ms window is the mock voice's silence between two characters. */
const GAP_LEVEL = 200;
const GAP_WINDOW_MS = 4;

/**
 * The audio up to its last gap between characters: a reading of audio cut in the middle of a
 * character's burst could get that character wrong, so interim text reads only whole ones.
 */
export function upToLastGap(audio: Pcm16): Pcm16 {
  const size = Math.max(1, Math.round((audio.sampleRate * GAP_WINDOW_MS) / 1000));
  const { samples } = audio;
  for (let end = samples.length; end - size >= 0; end -= size) {
    let sum = 0;
    for (let i = end - size; i < end; i++) sum += Math.abs(samples[i] as number);
    if (sum / size < GAP_LEVEL) return { samples: samples.subarray(0, end), sampleRate: audio.sampleRate };
  }
  return { samples: samples.subarray(0, 0), sampleRate: audio.sampleRate };
}

/**
 * A pause this long is between words whatever the voice's speed (the longest gap inside a word is
 * 46 ms, at half speed; a sentence's end is at least 130 ms, at double speed).
 */
const SETTLED_PAUSE_MS = 120;

/**
 * Interim text for a growing utterance without reading all of it every time: the text up to the
 * last long pause is read once and kept ("settled"); each reading decodes only what came after it.
 * Reading the whole audio again each time cost O(n²) over an utterance.
 */
export function interimReader(): (audio: Pcm16) => string | undefined {
  let settledAt = 0;
  const settled: string[] = [];
  /** Where the scan for pauses stopped, and the silence running there. */
  let scanned = 0;
  let silentFrom = -1;
  return (audio) => {
    const { samples, sampleRate } = audio;
    const size = Math.max(1, Math.round((sampleRate * GAP_WINDOW_MS) / 1000));
    const pause = (SETTLED_PAUSE_MS * sampleRate) / 1000;
    for (; scanned + size <= samples.length; scanned += size) {
      let sum = 0;
      for (let i = scanned; i < scanned + size; i++) sum += Math.abs(samples[i] as number);
      if (sum / size < GAP_LEVEL) {
        if (silentFrom < 0) silentFrom = scanned;
        continue;
      }
      // Sound after a long pause: everything before the pause is whole words, read once.
      if (silentFrom >= 0 && scanned - silentFrom >= pause && silentFrom > settledAt) {
        const text = readMockSpeech({ samples: samples.subarray(settledAt, silentFrom), sampleRate });
        if (text !== undefined) settled.push(text);
        settledAt = silentFrom;
      }
      silentFrom = -1;
    }
    const tail = readMockSpeech(upToLastGap({ samples: samples.subarray(settledAt), sampleRate }));
    const parts = tail === undefined ? settled : [...settled, tail];
    return parts.length === 0 ? undefined : parts.join(" ");
  };
}

/** Shorter than this, a sound is not worth a placeholder: nothing was said. */
const MIN_SOUND_MS = 20;

export const mock: SttProvider = {
  id: "mock",
  name: "Mock (built in)",
  models: ["default"],
  configured: () => true,
  async transcribe(request, ctx) {
    if (ctx.signal.aborted) throw new CallerGone();
    // The mock voices carry no language, and the decoder reads bytes, not words: it cannot say one.
    return { text: readMockSpeech(request.audio) ?? unrecognised(request.audio), language: null };
  },
  stream(options, events, ctx) {
    // Interim text as the words come (what barge-in needs), read from the whole characters so far.
    const interim = interimReader;
    return bufferedStream(
      async (request, c) =>
        request.audio.samples.length < (request.audio.sampleRate * MIN_SOUND_MS) / 1000 ? { text: "", language: null } : mock.transcribe(request, c),
      options,
      events,
      ctx,
      interim,
    );
  },
};
