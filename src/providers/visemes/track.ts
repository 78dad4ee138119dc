import type { Alignment } from "../tts/alignment";
import { VISEME_CHARS } from "./g2p";
import type { PlannedViseme } from "./plan";

/**
 * A sentence's visemes timed against its audio, one frame at a time, as the frames go out:
 * - with character timings (mock, ElevenLabs): each viseme starts where its anchor character is said;
 * - without (Deepgram, Groq...): from the audio itself. 10 ms windows below a level are silence
 *   (`sil`); the voiced ones walk through the plan at the rate that spreads what is left of it over
 *   what is left of the voiced audio: exact once the sentence's audio is all known (it usually is
 *   before its first frame goes: sentences are synthesized ahead), else estimated from the pace of
 *   the sentences before (`Pace`).
 * Times are relative to the frame and never past its end, like `alignment`.
 */

/** Visemes of one frame of audio: OVR indexes (0 sil … 14 U), and when each starts and lasts (ms, relative to the frame). */
export interface Visemes {
  ids: number[];
  start_ms: number[];
  duration_ms: number[];
}

const WINDOW_MS = 10;
/** RMS (of full scale) above which a 10 ms window is voiced. */
const VOICED_RMS = 0.02;

const idOf = (viseme: string) => Math.max(0, VISEME_CHARS.indexOf(viseme));

/** Voiced milliseconds of PCM16 audio (cached: a frame is measured once however often it is asked). */
const voicedCache = new WeakMap<Uint8Array, number>();
export function voicedMs(audio: Uint8Array, sampleRate: number): number {
  let ms = voicedCache.get(audio);
  if (ms === undefined) {
    ms = windowsOf(audio, sampleRate).filter(Boolean).length * WINDOW_MS;
    voicedCache.set(audio, ms);
  }
  return ms;
}

/** Whether each 10 ms window of the frame is voiced (the last, partial one included). */
function windowsOf(audio: Uint8Array, sampleRate: number): boolean[] {
  const samples = new Int16Array(audio.buffer, audio.byteOffset, audio.byteLength >> 1);
  const size = Math.max(1, Math.round((sampleRate * WINDOW_MS) / 1000));
  const limit = (VOICED_RMS * 32768) ** 2;
  const out: boolean[] = [];
  for (let start = 0; start < samples.length; start += size) {
    const end = Math.min(samples.length, start + size);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const s = samples[i] ?? 0;
      sum += s * s;
    }
    out.push(sum / (end - start) > limit);
  }
  return out;
}

/** How fast a voice speaks: voiced milliseconds per nominal millisecond, learnt sentence by sentence. */
export class Pace {
  /** A neutral start: the nominal lengths are an ordinary pace. */
  voicedPerNominal = 1;
  private learnt = false;

  learn(voiced: number, nominal: number): void {
    if (voiced <= 0 || nominal <= 0) return;
    const seen = voiced / nominal;
    this.voicedPerNominal = this.learnt ? 0.5 * this.voicedPerNominal + 0.5 * seen : seen;
    this.learnt = true;
  }
}

export class VisemeTrack {
  /** Characters of the sentence's text timed so far (with timings). */
  private charCursor = 0;
  /** Where the walk through the plan is, in nominal ms from its start (without timings). */
  private nominalAt = 0;
  private readonly nominalTotal: number;
  /** Each voiced item's start in nominal ms; pauses (`sil` items) are left to the audio's silences. */
  private readonly voicedPlan: { viseme: string; from: number; index: number }[] = [];
  private elapsedMs = 0;
  private voicedSeen = 0;
  /** When each planned viseme began (ms from the sentence's start; NaN until it has): for measuring. */
  readonly onsets: number[];

  constructor(
    private readonly plan: readonly PlannedViseme[],
    private readonly sampleRate: number,
    private readonly pace: Pace,
  ) {
    let at = 0;
    plan.forEach((item, index) => {
      if (item.viseme === "_") return;
      this.voicedPlan.push({ viseme: item.viseme, from: at, index });
      at += item.nominalMs;
    });
    this.nominalTotal = at;
    this.onsets = plan.map(() => Number.NaN);
  }

  /**
   * The visemes of the next frame. `alignment`: the voice's timings for it, if it gives them.
   * `restVoicedMs`: the voiced audio from this frame to the sentence's end, once all of it is known.
   */
  frame(audio: Uint8Array, alignment: Alignment | null | undefined, restVoicedMs: number | null): Visemes {
    const frameMs = (audio.byteLength / 2 / this.sampleRate) * 1000;
    const out = alignment ? this.timed(alignment, frameMs) : this.fromAudio(audio, frameMs, restVoicedMs);
    this.elapsedMs += frameMs;
    return out;
  }

  /** The sentence is over: its pace is the next one's guess. */
  finish(): void {
    if (this.voicedSeen > 0) this.pace.learn(this.voicedSeen, this.nominalTotal);
  }

  private timed(alignment: Alignment, frameMs: number): Visemes {
    const from = this.charCursor;
    const count = alignment.chars.length;
    this.charCursor += count;
    const starts: { id: number; at: number; index: number }[] = [];
    this.plan.forEach((item, index) => {
      if (item.at < from || item.at >= from + count) return;
      const k = Math.floor(item.at - from);
      const at = (alignment.start_ms[k] ?? 0) + (item.at - from - k) * (alignment.duration_ms[k] ?? 0);
      starts.push({ id: idOf(item.viseme), at: Math.min(Math.max(0, at), frameMs), index });
    });
    const out: Visemes = { ids: [], start_ms: [], duration_ms: [] };
    starts.forEach((s, i) => {
      const end = starts[i + 1]?.at ?? frameMs;
      this.onsets[s.index] = this.elapsedMs + s.at;
      out.ids.push(s.id);
      out.start_ms.push(round(s.at));
      out.duration_ms.push(round(Math.max(0, end - s.at)));
    });
    return out;
  }

  private fromAudio(audio: Uint8Array, frameMs: number, restVoicedMs: number | null): Visemes {
    const windows = windowsOf(audio, this.sampleRate);
    const nominalLeft = Math.max(0, this.nominalTotal - this.nominalAt);
    const voicedLeft = restVoicedMs ?? Math.max(WINDOW_MS, nominalLeft * this.pace.voicedPerNominal);
    const step = voicedLeft > 0 ? (WINDOW_MS * nominalLeft) / voicedLeft : 0;
    const out: Visemes = { ids: [], start_ms: [], duration_ms: [] };
    let item = this.itemAt(this.nominalAt);
    windows.forEach((voiced, w) => {
      const start = w * WINDOW_MS;
      let id = 0;
      if (voiced) {
        this.voicedSeen += WINDOW_MS;
        item = this.itemAt(this.nominalAt);
        if (item) {
          id = idOf(item.viseme);
          if (Number.isNaN(this.onsets[item.index] ?? 0)) this.onsets[item.index] = this.elapsedMs + start;
        }
        this.nominalAt += step;
      }
      const last = out.ids.length - 1;
      if (last >= 0 && out.ids[last] === id) out.duration_ms[last] = round(Math.min(frameMs, start + WINDOW_MS) - (out.start_ms[last] ?? 0));
      else {
        out.ids.push(id);
        out.start_ms.push(start);
        out.duration_ms.push(round(Math.min(frameMs, start + WINDOW_MS) - start));
      }
    });
    return out;
  }

  /** The voiced item the walk is in at nominal time `t` (binary search), or undefined past the end. */
  private itemAt(t: number): { viseme: string; from: number; index: number } | undefined {
    if (t >= this.nominalTotal) return undefined;
    let lo = 0;
    let hi = this.voicedPlan.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.voicedPlan[mid]?.from ?? 0) <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.voicedPlan[lo];
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
