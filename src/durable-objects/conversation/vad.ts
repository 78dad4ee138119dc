/**
 * An energy voice-activity detector for a socket's incoming audio (reference/voice.md §3.1): the
 * RMS of each 10 ms window against a threshold, whatever the frame sizes. Speech starts at two
 * voiced windows in a row (a single click does not start it) and stops once `silenceMs` of
 * silence has followed the last voiced window. Times are the audio's own clock (ms of audio
 * pushed), so the result does not depend on how fast or in what pieces frames arrive.
 *
 * `runMs` is for barge-in: how long the voice has gone on, bridging the short gaps inside speech
 * (between syllables, between the mock voice's characters and words) but not a real pause, so a
 * cough is ~100 ms however long the silence after it.
 */

export interface VadSettings {
  /** RMS of samples normalised to [-1, 1] above which a window is voiced. */
  threshold: number;
  /** Silence after the last voiced window that ends the speech. */
  silenceMs: number;
}

export type VadEvent = { type: "speech_started"; atMs: number } | { type: "speech_stopped"; atMs: number; lastVoicedMs: number; silenceMs: number };

const WINDOW_MS = 10;
/** Voiced windows in a row that start speech. */
const ONSET_WINDOWS = 2;
/**
 * The longest gap a run of voice bridges: longer than the gaps inside speech (a breath between
 * words, the mock voice's pause after a comma, 2 character slots ≤ 184 ms) and shorter than a
 * pause that ends a thought. After a longer gap, `runMs` starts again.
 */
export const RUN_GAP_MS = 200;

export class EnergyVad {
  private settings: VadSettings;
  private readonly windowSamples: number;
  /** Samples of the window being filled, and their sum of squares. */
  private filled = 0;
  private energy = 0;
  /** Whole windows analysed so far. */
  private windows = 0;
  private voicedInRow = 0;
  private inSpeech = false;
  /** Window index (start) of the speech's first voiced window, of the run's first, and the end of the latest voiced one. */
  private runStart = 0;
  private lastVoicedEnd = 0;
  /** The threshold squared, in the samples' own scale (compared with mean squares). */
  private floor: number;

  constructor(settings: VadSettings, sampleRate: number) {
    this.settings = settings;
    this.windowSamples = Math.round((sampleRate * WINDOW_MS) / 1000);
    this.floor = (settings.threshold * 32768) ** 2;
  }

  get speaking(): boolean {
    return this.inSpeech;
  }

  /** Audio analysed so far, ms (whole windows). */
  get nowMs(): number {
    return this.windows * WINDOW_MS;
  }

  /** The end of the latest voiced window, in the audio's clock (0 before any voice). */
  get lastVoicedMs(): number {
    return this.lastVoicedEnd * WINDOW_MS;
  }

  get runMs(): number {
    return this.inSpeech ? (this.lastVoicedEnd - this.runStart) * WINDOW_MS : 0;
  }

  update(settings: VadSettings): void {
    this.settings = settings;
    this.floor = (settings.threshold * 32768) ** 2;
  }

  /** Forgets the speech in progress (the clock goes on). */
  reset(): void {
    this.inSpeech = false;
    this.voicedInRow = 0;
  }

  push(samples: Int16Array): VadEvent[] {
    const events: VadEvent[] = [];
    const size = this.windowSamples;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as number;
      this.energy += s * s;
      this.filled += 1;
      if (this.filled === size) {
        this.window(this.energy / size > this.floor, events);
        this.filled = 0;
        this.energy = 0;
      }
    }
    return events;
  }

  private window(voiced: boolean, events: VadEvent[]): void {
    const index = this.windows;
    this.windows += 1;
    if (voiced) {
      this.voicedInRow += 1;
      if (this.inSpeech) {
        if (index - this.lastVoicedEnd >= RUN_GAP_MS / WINDOW_MS) this.runStart = index;
        this.lastVoicedEnd = index + 1;
      } else if (this.voicedInRow >= ONSET_WINDOWS) {
        const onset = index + 1 - ONSET_WINDOWS;
        this.inSpeech = true;
        this.runStart = onset;
        this.lastVoicedEnd = index + 1;
        events.push({ type: "speech_started", atMs: onset * WINDOW_MS });
      }
      return;
    }
    this.voicedInRow = 0;
    if (this.inSpeech && (this.windows - this.lastVoicedEnd) * WINDOW_MS >= this.settings.silenceMs) {
      this.inSpeech = false;
      events.push({
        type: "speech_stopped",
        atMs: this.windows * WINDOW_MS,
        lastVoicedMs: this.lastVoicedEnd * WINDOW_MS,
        silenceMs: (this.windows - this.lastVoicedEnd) * WINDOW_MS,
      });
    }
  }
}
