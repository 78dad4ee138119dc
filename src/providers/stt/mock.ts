import { decodeSpeech } from "../tts/mock-speech";
import { CallerGone } from "../upstream";
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

/** The text of mock speech, or undefined for any other sound. */
export function readMockSpeech(audio: Pcm16): string | undefined {
  let text: string;
  try {
    text = decodeSpeech(audio.samples, audio.sampleRate);
  } catch {
    // Below 8 kHz the voice's highest tone cannot be there: whatever this is, it is not mock speech.
    return undefined;
  }
  return text === "" || NOT_TEXT.test(text) ? undefined : text;
}

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
};
