/**
 * The built-in offline voice: speech-like audio whose text can be read back from the audio alone,
 * so a whole voice conversation (TTS -> transport -> STT) can run in tests without any provider.
 *
 * Encoding. The text is UTF-8; every byte becomes one burst of a few tens of milliseconds holding
 * two steady tones, DTMF style: the high nibble picks one of 16 frequencies in a low group
 * (1000-2350 Hz), the low nibble one of 16 in a high group (2450-3800 Hz). Under the tones runs a
 * voiced "buzz" (the voice's pitch plus a few harmonics, all below 900 Hz) that carries the
 * prosody: pitch glides within each word, declines over a sentence and rises at the end of a
 * question; stressed syllables are louder. Bursts are separated by digital silence: a short gap
 * between characters, a longer one for a space, longer still after , ; : and longest after . ! ?
 * (those pauses replace the space that follows them). Whitespace itself is never a tone.
 *
 * Decoding needs no knowledge of the voice or speed: it segments the audio into bursts by energy,
 * takes the median burst length as its clock, reads each burst's two tones with Goertzel filters
 * and turns every gap longer than a fraction of that clock into a space. All data lives between
 * 1 and 3.8 kHz, so it survives resampling to 16 kHz (aliases of anything we emit land above 4 kHz).
 */

import { fnv1a } from "../../lib/hash";
import type { Alignment } from "./alignment";

/** Mono PCM16 at this rate, the rate most TTS providers stream. */
export const MOCK_SAMPLE_RATE = 24000;
const SAMPLES_PER_MS = MOCK_SAMPLE_RATE / 1000;

export interface MockVoice {
  id: string;
  name: string;
  description: string;
  language: string;
  /** Base pitch of the voiced buzz, Hz; prosody moves it between about -12% and +30%. */
  f0Hz: number;
  /** Time per character at speed 1 (one burst plus the gap after it), ms. */
  msPerChar: number;
  /** Relative amplitudes of buzz harmonics 1..n: more weight up high sounds brighter. */
  harmonics: readonly number[];
}

export const MOCK_VOICES: readonly MockVoice[] = Object.freeze([
  {
    id: "warm",
    name: "Warm",
    description: "Mid-pitched, relaxed and unhurried. Offline mock voice for development and tests.",
    language: "en",
    f0Hz: 135,
    msPerChar: 78,
    harmonics: [1, 0.55, 0.3],
  },
  {
    id: "bright",
    name: "Bright",
    description: "High-pitched, quick and crisp. Offline mock voice for development and tests.",
    language: "en",
    f0Hz: 210,
    msPerChar: 66,
    harmonics: [1, 0.7, 0.5],
  },
  {
    id: "deep",
    name: "Deep",
    description: "Low-pitched, slow and resonant. Offline mock voice for development and tests.",
    language: "en",
    f0Hz: 95,
    msPerChar: 92,
    harmonics: [1, 0.6, 0.4, 0.25],
  },
]);

export function mockVoice(id: string): MockVoice | undefined {
  return MOCK_VOICES.find((v) => v.id === id);
}

/**
 * The mock's alignment has one entry per Unicode code point (a surrogate pair is ONE entry of two
 * UTF-16 units), so `chars.join("") === text` always. Times are whole milliseconds (floored sample
 * positions), so `start_ms + duration_ms` never exceeds the duration through rounding.
 */
export type { Alignment } from "./alignment";

export interface SpeechPlan {
  sampleRate: number;
  totalSamples: number;
  durationMs: number;
  /** Relative to the start of the utterance. */
  alignment: Alignment;
}

export interface SpeechChunk {
  pcm: Int16Array;
  /** The characters whose start falls in this chunk, start_ms relative to the chunk's first sample. */
  alignment: Alignment;
}

// ---- Timing --------------------------------------------------------------------------------------

/** Accepted speed range; outside it the bursts get too short to decode (or absurdly long). */
const MIN_SPEED = 0.5;
const MAX_SPEED = 2;
/**
 * Share of a character's slot that is sound; the rest is the silence the decoder splits on. At the
 * fastest slot (bright at 2x, 33 ms) that is a 25 ms burst (enough to tell tones 90 Hz apart) and
 * an 8 ms gap (4 decoder frames).
 */
const BURST_FRACTION = 0.75;
/** Silence added for a space, in character slots: the decoder's gap threshold sits between 0.25 and 1.25 slots. */
const SPACE_PAUSE_SLOTS = 1;
/** After , ; : and dashes: a breath. */
const SHORT_PAUSE_SLOTS = 2;
/** After . ! ? and ellipses: end of a sentence. */
const LONG_PAUSE_SLOTS = 4;
const SHORT_PAUSE = /^[,;:\u2013\u2014\u3001\uff0c]$/u;
const LONG_PAUSE = /^[.!?\u2026\u3002\uff01\uff1f]$/u;
/** Closing quotes and brackets are looked through: in `"Hi."` the pause belongs to the full stop. */
const CLOSERS = /^["')\]}\u00bb\u2019\u201d]$/u;
/** Matches what `String.prototype.trim` and `\s` treat as whitespace; runs of it collapse to one space. */
const WHITESPACE = /^\s$/u;

// ---- Prosody -------------------------------------------------------------------------------------

/** Pitch multiplier at the first and last character of a sentence: statements drift down ~15%. */
const DECLINATION_START = 1.08;
const DECLINATION_END = 0.92;
/** Pitch arc over a word (rise then fall), as a fraction of the pitch. */
const WORD_ARC = 0.07;
/** Per-word pitch offset (+-), hashed from the word so repeats sound the same. */
const WORD_PITCH_JITTER = 0.04;
/** Rise over the last word of a question. */
const QUESTION_RISE = 0.25;
/** Hard cap on the pitch multiplier, keeping the buzz band well clear of the data tones. */
const MAX_PITCH_MULTIPLIER = 1.3;
/** No buzz harmonic above this: the lowest data tone is 1000 Hz and the decoder must not confuse them. */
const BUZZ_CEILING_HZ = 850;
/** Loudness of the stressed syllable (first vowel of a word), other vowels, and everything else. */
const STRESSED_GAIN = 1;
const VOWEL_GAIN = 0.8;
const CONSONANT_GAIN = 0.68;
/** Sentences get quieter towards their end, like the pitch. */
const LOUDNESS_DECLINATION = 0.2;
/** Per-character loudness wobble (subtracted, 0..this), hashed from the text position. */
const GAIN_JITTER = 0.1;
/** Vowels are mostly voice; consonants mostly the hiss-like tones (as fricatives are). */
const VOWEL_TONE_SHARE = 0.6;
const CONSONANT_BUZZ_SHARE = 0.5;
const VOWELS = "aeiouyAEIOUY";

// ---- Levels and envelope -------------------------------------------------------------------------

/**
 * Peak amplitudes (full scale = 1). The worst case, every component of a stressed vowel peaking
 * at once, is 0.55 + 2 * 0.2 * VOWEL_TONE_SHARE = 0.79 (-2 dBFS), so nothing can clip; the phases
 * never quite line up, and real peaks land around -4..-5 dBFS.
 */
const BUZZ_GAIN = 0.55;
const TONE_GAIN = 0.2;
const INT16_FULL_SCALE = 32767;
/** Attack and release as shares of the burst: a soft onset and a longer tail, no clicks. */
const ATTACK_FRACTION = 0.12;
const RELEASE_FRACTION = 0.3;
/** Loudness lost from the start to the end of a burst (a syllable decays once it has struck). */
const BURST_DECAY = 0.35;

// ---- Data tones ----------------------------------------------------------------------------------

/**
 * 90 Hz apart: well above the ~50 Hz resolution of the shortest (20 ms) analysis window, and 16 of
 * them per group fit between the buzz (< 900 Hz) and 3.8 kHz. The top stays under 4 kHz because a
 * 24 -> 16 kHz resampler folds whatever it lets through at f back to 8000 - f: for f < 4 kHz
 * that lands above the band.
 */
const TONE_STEP_HZ = 90;
const LOW_GROUP_BASE_HZ = 1000;
const HIGH_GROUP_BASE_HZ = 2450;
const TONES_PER_GROUP = 16;
const LOW_TONES = Array.from({ length: TONES_PER_GROUP }, (_, i) => LOW_GROUP_BASE_HZ + i * TONE_STEP_HZ);
const HIGH_TONES = Array.from({ length: TONES_PER_GROUP }, (_, i) => HIGH_GROUP_BASE_HZ + i * TONE_STEP_HZ);

// ---- Decoder -------------------------------------------------------------------------------------

/** Energy frames: short next to the shortest gap (8 ms), long next to a 1 kHz period. */
const FRAME_MS = 2;
/** A frame is sound when its energy is above this share of the loudest frame's (-26 dB). */
const ACTIVE_ENERGY_RATIO = 0.05 ** 2;
/**
 * With background noise the floor rises: sound must also beat this multiple (+6 dB) of the noise
 * floor, estimated as the energy of the quietest NOISE_FLOOR_PERCENTILE of frames (gaps and pauses
 * are a quarter or more of any utterance, so that percentile is silence).
 */
const NOISE_MARGIN = 4;
const NOISE_FLOOR_PERCENTILE = 0.1;
/** Quieter dips shorter than this inside a burst do not split it. */
const MIN_GAP_MS = 3;
/** Sound shorter than this share of the median burst is a click or noise, not a character. */
const MIN_BURST_RATIO = 0.35;
/**
 * A gap longer than this many median bursts is a space. Measured gaps are ~0.4 bursts between
 * characters and >= ~1.7 around a space, so the threshold has ~2x margin either way.
 */
const SPACE_GAP_RATIO = 0.85;
/** Below this rate the high group's top tone (3.8 kHz) would not fit under Nyquist. */
const MIN_DECODE_RATE = 8000;

// ---- Shared tables -------------------------------------------------------------------------------

/** Sine lookup: a power of two so the phase wraps with a mask; 4096 entries keeps spurs near -70 dB. */
const SINE_TABLE_SIZE = 4096;
const SINE_MASK = SINE_TABLE_SIZE - 1;
const SINE = new Float64Array(SINE_TABLE_SIZE);
for (let i = 0; i < SINE_TABLE_SIZE; i++) SINE[i] = Math.sin((2 * Math.PI * i) / SINE_TABLE_SIZE);
/** Sine table index of a quarter turn: cos(x) is sin(x + quarter). */
const QUARTER_TURN = SINE_TABLE_SIZE / 4;
/** Default chunk length when streaming. */
const DEFAULT_CHUNK_MS = 100;

/** One tone burst: everything the renderer needs, precomputed so the sample loop is arithmetic only. */
interface Burst {
  start: number;
  length: number;
  /** Table-index increments per sample for the two data tones. */
  toneStepA: number;
  toneStepB: number;
  toneAmp: number;
  /** Buzz phase (table index) at sample n is buzzStep * n + buzzGlide * n^2: a linear pitch glide over the burst. */
  buzzStep: number;
  buzzGlide: number;
  /** Harmonic amplitudes, already scaled by the burst's loudness. */
  buzzAmps: Float64Array;
  attack: number;
  release: number;
}

interface Layout {
  totalSamples: number;
  bursts: Burst[];
  chars: string[];
  /** Per character, in samples. */
  starts: number[];
  ends: number[];
}

interface Word {
  /** Index range into the code point array, inclusive first, exclusive end. */
  first: number;
  end: number;
  /** Pause after the word in slots; 0 when it ends without , ; : . ! ? (a plain space follows, if anything). */
  pause: number;
  sentence: number;
}

const utf8 = new TextEncoder();

/** The timeline of an utterance without rendering a sample: what the renderer and the aligner share. */
function layout(text: string, voice: MockVoice, speed: number): Layout {
  const chars = Array.from(text);
  // At least 2 samples, so that even an absurd custom voice has a burst and a gap.
  const slot = Math.max(2, Math.round((voice.msPerChar / clampSpeed(speed)) * SAMPLES_PER_MS));
  const burstLength = Math.round(slot * BURST_FRACTION);
  const words = findWords(chars);

  // Sentence lengths in characters, for declination.
  const sentenceChars: number[] = [];
  for (const w of words) sentenceChars[w.sentence] = (sentenceChars[w.sentence] ?? 0) + (w.end - w.first);
  const sentenceIsQuestion: boolean[] = [];
  for (const w of words) sentenceIsQuestion[w.sentence] = lastSpoken(chars, w) === "?";

  const starts = new Array<number>(chars.length).fill(0);
  const ends = new Array<number>(chars.length).fill(0);
  const bursts: Burst[] = [];
  let t = 0;
  let sentence = -1;
  let sentencePos = 0;
  for (let wi = 0; wi < words.length; wi++) {
    const word = words[wi];
    if (!word) continue;
    if (word.sentence !== sentence) {
      sentence = word.sentence;
      sentencePos = 0;
    }
    const sentenceLength = sentenceChars[sentence] ?? 1;
    const nextWord = words[wi + 1];
    const isQuestionEnd = (sentenceIsQuestion[sentence] ?? false) && nextWord?.sentence !== sentence;
    const wordHash = fnv1a(chars.slice(word.first, word.end).join(""));
    const wordPitch = 1 + WORD_PITCH_JITTER * (2 * unit(wordHash) - 1);
    const stressed = firstVowel(chars, word);
    const wordLength = word.end - word.first;

    for (let i = word.first; i < word.end; i++) {
      const ch = chars[i] ?? "";
      const bytes = utf8.encode(ch);
      const k = i - word.first;
      const progress = (sentencePos + k) / sentenceLength;
      const declination = DECLINATION_START + (DECLINATION_END - DECLINATION_START) * progress;
      const pitchAt = (q: number) => {
        const arc = 1 + WORD_ARC * Math.sin(Math.PI * q);
        const rise = isQuestionEnd ? 1 + QUESTION_RISE * q : 1;
        return voice.f0Hz * Math.min(MAX_PITCH_MULTIPLIER, declination * wordPitch * arc * rise);
      };
      const vowel = isVowel(ch);
      const stress = i === stressed ? STRESSED_GAIN : vowel ? VOWEL_GAIN : CONSONANT_GAIN;
      const gain = stress * (1 - LOUDNESS_DECLINATION * progress) * (1 - GAIN_JITTER * unit(fnv1a(String(i), wordHash)));
      starts[i] = t;
      bytes.forEach((byte, b) => {
        const q0 = (k + b / bytes.length) / wordLength;
        const q1 = (k + (b + 1) / bytes.length) / wordLength;
        bursts.push(
          makeBurst(t, burstLength, byte, pitchAt(q0), pitchAt(q1), voice.harmonics, {
            buzz: gain * BUZZ_GAIN * (vowel ? 1 : CONSONANT_BUZZ_SHARE),
            tone: gain * TONE_GAIN * (vowel ? VOWEL_TONE_SHARE : 1),
          }),
        );
        t += slot;
      });
      ends[i] = t;
    }
    sentencePos += wordLength;

    // The pause after the word belongs to the first character of the whitespace that follows (the
    // rest of a run is zero-length). With no whitespace after the last word, it is trailing silence
    // that belongs to no character (and keeps back-to-back sentences apart when concatenated).
    const pause = word.pause === 0 && !nextWord ? 0 : (word.pause || SPACE_PAUSE_SLOTS) * slot;
    const wsEnd = nextWord?.first ?? chars.length;
    for (let i = word.end; i < wsEnd; i++) {
      starts[i] = i === word.end ? t : t + pause;
      ends[i] = t + pause;
    }
    t += pause;
  }
  return { totalSamples: t, bursts, chars, starts, ends };
}

/** Maximal runs of non-whitespace, with the pause each one earns and its sentence number. */
function findWords(chars: string[]): Word[] {
  const words: Word[] = [];
  let sentence = 0;
  for (let i = 0; i < chars.length; ) {
    if (WHITESPACE.test(chars[i] ?? "")) {
      i++;
      continue;
    }
    const first = i;
    while (i < chars.length && !WHITESPACE.test(chars[i] ?? "")) i++;
    const word: Word = { first, end: i, pause: 0, sentence };
    const last = lastSpoken(chars, word);
    if (LONG_PAUSE.test(last)) word.pause = LONG_PAUSE_SLOTS;
    else if (SHORT_PAUSE.test(last)) word.pause = SHORT_PAUSE_SLOTS;
    words.push(word);
    if (word.pause === LONG_PAUSE_SLOTS) sentence++;
  }
  return words;
}

/** The word's last character that is not a closing quote or bracket. */
function lastSpoken(chars: string[], word: Word): string {
  for (let i = word.end - 1; i >= word.first; i--) {
    const ch = chars[i] ?? "";
    if (!CLOSERS.test(ch)) return ch;
  }
  return "";
}

function firstVowel(chars: string[], word: Word): number {
  for (let i = word.first; i < word.end; i++) if (isVowel(chars[i] ?? "")) return i;
  return word.first;
}

/** Accented vowels count: "é" decomposes to "e" plus a combining accent. */
function isVowel(ch: string): boolean {
  return VOWELS.includes(ch.normalize("NFD").charAt(0));
}

function makeBurst(
  start: number,
  length: number,
  byte: number,
  f0Start: number,
  f0End: number,
  harmonics: readonly number[],
  amp: { buzz: number; tone: number },
): Burst {
  const hzToStep = SINE_TABLE_SIZE / MOCK_SAMPLE_RATE;
  const weightSum = harmonics.reduce((a, b) => a + b, 0) || 1;
  const top = Math.max(f0Start, f0End);
  const buzzAmps = new Float64Array(harmonics.length);
  // Harmonics above the ceiling are dropped (not renormalised), so a high voice is simply thinner.
  harmonics.forEach((w, h) => {
    if ((h + 1) * top <= BUZZ_CEILING_HZ) buzzAmps[h] = (amp.buzz * w) / weightSum;
  });
  return {
    start,
    length,
    toneStepA: (LOW_TONES[byte >> 4] ?? 0) * hzToStep,
    toneStepB: (HIGH_TONES[byte & 0xf] ?? 0) * hzToStep,
    toneAmp: amp.tone,
    buzzStep: f0Start * hzToStep,
    buzzGlide: ((f0End - f0Start) * hzToStep) / (2 * length),
    buzzAmps,
    attack: Math.max(1, Math.round(length * ATTACK_FRACTION)),
    release: Math.max(1, Math.round(length * RELEASE_FRACTION)),
  };
}

/**
 * Adds the part of `burst` that overlaps [from, from + out.length) to `out`. Every sample is a
 * closed-form function of its index within the burst (no oscillator state carried between
 * calls), which is what makes the output independent of the chunk size.
 */
function renderBurst(burst: Burst, out: Int16Array, from: number): void {
  const n0 = Math.max(0, from - burst.start);
  const n1 = Math.min(burst.length, from + out.length - burst.start);
  const { length, attack, release, buzzStep, buzzGlide, toneStepA, toneStepB, toneAmp, buzzAmps } = burst;
  const harmonics = buzzAmps.length;
  const releaseStart = length - release;
  for (let n = n0; n < n1; n++) {
    let env = 1 - (BURST_DECAY * n) / length;
    // Raised-cosine ramps: 0.5 - 0.5 cos(pi x), cos read from the sine table a quarter turn on.
    if (n < attack) env *= 0.5 - 0.5 * (SINE[((n / attack) * (SINE_TABLE_SIZE / 2) + QUARTER_TURN) & SINE_MASK] ?? 0);
    if (n >= releaseStart) env *= 0.5 - 0.5 * (SINE[(((length - n) / release) * (SINE_TABLE_SIZE / 2) + QUARTER_TURN) & SINE_MASK] ?? 0);
    const phase = n * (buzzStep + buzzGlide * n);
    let v = toneAmp * ((SINE[(n * toneStepA) & SINE_MASK] ?? 0) + (SINE[(n * toneStepB) & SINE_MASK] ?? 0));
    for (let h = 0; h < harmonics; h++) v += (buzzAmps[h] ?? 0) * (SINE[(phase * (h + 1)) & SINE_MASK] ?? 0);
    const i = burst.start + n - from;
    out[i] = Math.max(-INT16_FULL_SCALE, Math.min(INT16_FULL_SCALE, Math.round((out[i] ?? 0) + v * env * INT16_FULL_SCALE)));
  }
}

/** Timing and alignment of an utterance, without synthesising it. */
export function planSpeech(text: string, voice: MockVoice, opts: { speed?: number } = {}): SpeechPlan {
  const plan = layout(text, voice, opts.speed ?? 1);
  // Whitespace-only text still gets its (zero-length) entries, so the alignment always spells the input.
  const alignment = emptyAlignment();
  for (const [i, ch] of plan.chars.entries()) pushAlignment(alignment, ch, plan.starts[i] ?? 0, plan.ends[i] ?? 0, 0);
  return { sampleRate: MOCK_SAMPLE_RATE, totalSamples: plan.totalSamples, durationMs: samplesToMs(plan.totalSamples), alignment };
}

/**
 * Streams the utterance in chunks of `chunkMs` (default 100 ms; at least one sample), rendering
 * each chunk only when asked for. Whitespace-only text yields nothing.
 */
export function* synthesize(text: string, voice: MockVoice, opts: { speed?: number; chunkMs?: number } = {}): Generator<SpeechChunk> {
  const plan = layout(text, voice, opts.speed ?? 1);
  const chunkMs = opts.chunkMs !== undefined && opts.chunkMs > 0 ? opts.chunkMs : DEFAULT_CHUNK_MS;
  const chunkSamples = Math.max(1, Math.round(chunkMs * SAMPLES_PER_MS));
  let firstBurst = 0;
  let nextChar = 0;
  for (let from = 0; from < plan.totalSamples; from += chunkSamples) {
    const to = Math.min(plan.totalSamples, from + chunkSamples);
    const pcm = new Int16Array(to - from);
    while (firstBurst < plan.bursts.length && burstEnd(plan.bursts[firstBurst]) <= from) firstBurst++;
    for (let b = firstBurst; b < plan.bursts.length; b++) {
      const burst = plan.bursts[b];
      if (!burst || burst.start >= to) break;
      renderBurst(burst, pcm, from);
    }
    // Zero-length characters at the very end (trailing whitespace) go with the last chunk.
    const alignment = emptyAlignment();
    const last = to === plan.totalSamples;
    while (nextChar < plan.chars.length && ((plan.starts[nextChar] ?? 0) < to || last)) {
      pushAlignment(alignment, plan.chars[nextChar] ?? "", plan.starts[nextChar] ?? 0, plan.ends[nextChar] ?? 0, from);
      nextChar++;
    }
    yield { pcm, alignment };
  }
}

function burstEnd(burst: Burst | undefined): number {
  return burst ? burst.start + burst.length : Infinity;
}

function emptyAlignment(): Alignment {
  return { chars: [], start_ms: [], duration_ms: [] };
}

/** Floors both ends to whole ms (relative to `origin`), so start + duration never overshoots. */
function pushAlignment(alignment: Alignment, ch: string, start: number, end: number, origin: number): void {
  const startMs = Math.floor(samplesToMs(start - origin));
  alignment.chars.push(ch);
  alignment.start_ms.push(startMs);
  alignment.duration_ms.push(Math.floor(samplesToMs(end)) - Math.floor(samplesToMs(start)));
}

function samplesToMs(samples: number): number {
  return (samples * 1000) / MOCK_SAMPLE_RATE;
}

function clampSpeed(speed: number): number {
  return Number.isFinite(speed) ? Math.min(MAX_SPEED, Math.max(MIN_SPEED, speed)) : 1;
}

/** A hash as a number in [0, 1). */
function unit(h: number): number {
  return h / 0x100000000;
}

/**
 * Recovers the text from mock speech at any sample rate >= 8 kHz, Int16 or float, any gain.
 * Returns single spaces between words, trimmed (whitespace runs were spoken as one pause).
 */
export function decodeSpeech(samples: Int16Array | Float32Array, sampleRate: number): string {
  if (!(sampleRate >= MIN_DECODE_RATE)) throw new RangeError(`decodeSpeech needs a sample rate of at least ${MIN_DECODE_RATE} Hz, got ${sampleRate}`);
  const segments = findBursts(samples, sampleRate);
  if (segments.length === 0) return "";

  const lengths = segments.map((s) => s.end - s.start).sort((a, b) => a - b);
  const medianBurst = lengths[lengths.length >> 1] ?? 0;
  const lowCoeffs = LOW_TONES.map((f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate));
  const highCoeffs = HIGH_TONES.map((f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate));
  const windowed = new Float64Array(lengths[lengths.length - 1] ?? 0);

  const bytes: number[] = [];
  let previousEnd = -1;
  for (const seg of segments) {
    if (seg.end - seg.start < MIN_BURST_RATIO * medianBurst) continue;
    if (previousEnd >= 0 && seg.start - previousEnd > SPACE_GAP_RATIO * medianBurst) bytes.push(0x20);
    previousEnd = seg.end;
    // A Hann window keeps each tone's leakage out of its neighbours' filters.
    const n = seg.end - seg.start;
    for (let i = 0; i < n; i++) windowed[i] = (samples[seg.start + i] ?? 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
    bytes.push((strongest(windowed, n, lowCoeffs) << 4) | strongest(windowed, n, highCoeffs));
  }
  return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\s+/gu, " ").trim();
}

/** Stretches of sound, in samples, split wherever the energy stays low for at least MIN_GAP_MS. */
function findBursts(samples: Int16Array | Float32Array, sampleRate: number): { start: number; end: number }[] {
  const frame = Math.max(1, Math.round((sampleRate * FRAME_MS) / 1000));
  const frames = Math.ceil(samples.length / frame);
  const energy = new Float64Array(frames);
  let peak = 0;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const end = Math.min(samples.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++) {
      const v = samples[i] ?? 0;
      sum += v * v;
    }
    energy[f] = sum / frame;
    if (sum / frame > peak) peak = sum / frame;
  }
  if (peak === 0) return [];
  const floor = Float64Array.from(energy).sort()[Math.floor(frames * NOISE_FLOOR_PERCENTILE)] ?? 0;
  const threshold = Math.max(peak * ACTIVE_ENERGY_RATIO, floor * NOISE_MARGIN);
  const minGapFrames = Math.ceil(MIN_GAP_MS / FRAME_MS);
  const segments: { start: number; end: number }[] = [];
  let first = -1;
  let lastActive = -1;
  const close = () => segments.push({ start: first * frame, end: Math.min(samples.length, (lastActive + 1) * frame) });
  for (let f = 0; f < frames; f++) {
    if ((energy[f] ?? 0) <= threshold) continue;
    if (first < 0) first = f;
    else if (f - lastActive - 1 >= minGapFrames) {
      close();
      first = f;
    }
    lastActive = f;
  }
  if (first >= 0) close();
  return segments;
}

/** Index of the candidate tone with the most power in x[0..n), by Goertzel. */
function strongest(x: Float64Array, n: number, coeffs: number[]): number {
  let best = 0;
  let bestPower = -1;
  coeffs.forEach((coeff, k) => {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const s0 = (x[i] ?? 0) + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = k;
    }
  });
  return best;
}
