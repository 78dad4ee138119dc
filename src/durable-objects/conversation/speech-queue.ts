import type { Config } from "../../config";
import type { OutputAudioFormat } from "../../db/schema";
import type { Logger } from "../../lib/logger";
import { nextTask } from "../../lib/time";
import type { Alignment, SpeechChunk, TtsProvider } from "../../providers/tts/types";
import type { G2p } from "../../providers/visemes/g2p";
import { planVisemes } from "../../providers/visemes/plan";
import { Pace, VisemeTrack, voicedMs } from "../../providers/visemes/track";
import { Playback, pcmDurationMs } from "./playback";

/**
 * Sentences in, audio out in order, paced. Each sentence goes to the TTS provider as soon as it is
 * added, up to `MAX_IN_FLIGHT` at once, and its audio is buffered as it arrives; a player sends the
 * buffered audio strictly in sentence order, so sentence 2 is synthesized while sentence 1 plays,
 * and holds each frame until the client's buffer is within `leadMs` of real time (playback.ts):
 * enough for smooth playback, little enough that an interrupt discards little and that what is
 * stored as spoken is close to what was heard.
 */

/** Sentences synthesized at once: enough to keep the player fed, few enough to be polite upstream. */
const MAX_IN_FLIGHT = 3;

export interface SpeechSettings {
  provider: TtsProvider;
  voice: string;
  format: OutputAudioFormat;
  /** Audio sent ahead of real time, at most (ms). */
  leadMs: number;
  /** Visemes on every frame, read with these letter-to-viseme rules; absent: none. */
  visemes?: G2p;
}

export interface SpeechContext {
  signal: AbortSignal;
  config: Config;
  log: Logger;
  now: () => number;
  /** Where the turn's audio is tracked (the conversation passes one in to hear the client's reports). */
  playback?: Playback;
}

export interface AudioSink {
  /** Before the first audio frame of the turn. */
  speechStarted(): void;
  /** One frame, with everything sent as audio so far (this frame included). */
  audio(chunk: SpeechChunk, spokenSoFar: string): void;
}

const SAMPLE_RATE: Record<OutputAudioFormat, number> = { pcm_16000: 16_000, pcm_24000: 24_000 };

/**
 * After a sentence's first frame (which goes at once), frames are made this many to a task
 * (`nextTask` between them: a provider that makes a sentence in one go, the mock, would otherwise
 * hold the first frame until the last was made, the output gate waiting for all their writes): each
 * task that writes ends in a storage commit, ~0.2 ms of the runtime's CPU, and a frame per task
 * cost an unpaced turn of the benchmark ~18% more CPU (137 against 113 ms a turn, workerd's own
 * counter). Five frames are ~1 s of audio and a millisecond or so of the mock voice's work.
 */
const FRAMES_PER_TASK = 5;

/** Markdown the model may write but nobody should hear ("asterisk asterisk"). */
const speakable = (text: string) =>
  text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_\x60#>~|]+/g, "")
    .trim();

/** Wakes everyone waiting for a change. */
class Changes {
  private waiters: (() => void)[] = [];

  notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** One sentence: its text as the LLM wrote it, and its audio as far as it has arrived. */
class Utterance {
  readonly chunks: SpeechChunk[] = [];
  readonly changes = new Changes();
  done = false;
  error: unknown;

  constructor(
    /** The raw slice of the reply, surrounding whitespace included. */
    readonly raw: string,
    readonly text: string,
  ) {}
}

export class SpeechQueue {
  private readonly utterances: Utterance[] = [];
  private readonly added = new Changes();
  private started = 0;
  private inFlight = 0;
  private closed = false;
  /** Everything sent as audio, as the reply's text (whole sentences plus the current one's start). */
  spoken = "";
  /** The sentences played to the end. */
  private wholeSentences = "";
  readonly playback: Playback;
  private readonly aborted: Promise<void>;
  speechStarted = false;
  /** Unicode code points sent to the TTS provider: what its speech costs, heard or not. */
  synthesizedCharacters = 0;
  /** The first sentence's time from request to first audio. */
  ttsFirstByteMs: number | null = null;
  firstAudioAt: number | null = null;
  /** Settles when every added sentence has been played, or rejects with the first failure. */
  readonly played: Promise<void>;
  /** The voice's pace, learnt from the sentences so far (visemes without timings). */
  private readonly voicePace = new Pace();

  constructor(
    private readonly settings: SpeechSettings,
    private readonly sink: AudioSink,
    private readonly ctx: SpeechContext,
  ) {
    this.playback = ctx.playback ?? new Playback();
    // An abort must reach a player that is waiting for audio, for the next sentence or for its pace.
    this.aborted = new Promise((resolve) =>
      ctx.signal.addEventListener("abort", () => {
        this.added.notify();
        for (const u of this.utterances) u.changes.notify();
        resolve();
      }),
    );
    this.played = this.play();
    // Observed by the turn; this keeps an early failure from being reported as unhandled meanwhile.
    this.played.catch(() => {});
  }

  add(raw: string): void {
    this.utterances.push(new Utterance(raw, speakable(raw)));
    this.startMore();
    this.added.notify();
  }

  /** No more sentences: `played` settles once the ones added have been sent. */
  close(): void {
    this.closed = true;
    this.added.notify();
  }

  /** What the client has heard by now, as text (what an interrupted turn stores as spoken). */
  heardText(): string {
    return this.playback.spokenAt(this.playback.heardMs(this.ctx.now()));
  }

  private startMore(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.started < this.utterances.length) {
      const utterance = this.utterances[this.started++];
      if (utterance) void this.synthesize(utterance);
    }
  }

  private async synthesize(u: Utterance): Promise<void> {
    this.inFlight++;
    try {
      if (u.text === "" || this.ctx.signal.aborted) return;
      const { provider, voice, format } = this.settings;
      const requestedAt = this.ctx.now();
      this.synthesizedCharacters += [...u.text].length;
      const speech = await provider.synthesize(
        { text: u.text, voice, format, timestamps: provider.timings },
        { signal: this.ctx.signal, config: this.ctx.config, log: this.ctx.log },
      );
      for await (const chunk of speech.chunks) {
        if (this.ttsFirstByteMs === null) this.ttsFirstByteMs = this.ctx.now() - requestedAt;
        u.chunks.push(chunk);
        u.changes.notify();
        if (u.chunks.length === 1 || u.chunks.length % FRAMES_PER_TASK === 0) await nextTask();
      }
    } catch (err) {
      u.error = err;
    } finally {
      u.done = true;
      u.changes.notify();
      this.inFlight--;
      this.startMore();
    }
  }

  private async play(): Promise<void> {
    for (let i = 0; ; i++) {
      while (i >= this.utterances.length) {
        this.ctx.signal.throwIfAborted();
        if (this.closed) return;
        await this.added.next();
      }
      const u = this.utterances[i];
      if (!u) return;
      await this.playOne(u, i > 0);
      this.wholeSentences += u.raw;
      this.spoken = this.wholeSentences;
    }
  }

  private async playOne(u: Utterance, afterAnother: boolean): Promise<void> {
    const leading = u.raw.slice(0, u.raw.length - u.raw.trimStart().length);
    const timed = this.settings.provider.timings;
    const sampleRate = SAMPLE_RATE[this.settings.format];
    const g2p = this.settings.visemes;
    const track = g2p ? new VisemeTrack(planVisemes(u.text, g2p), sampleRate, this.voicePace) : undefined;
    let sent = 0;
    let said = "";
    for (;;) {
      this.ctx.signal.throwIfAborted();
      const chunk = u.chunks[sent];
      if (chunk) {
        await this.pace();
        sent += 1;
        if (!this.speechStarted) {
          this.speechStarted = true;
          this.firstAudioAt = this.ctx.now();
          this.sink.speechStarted();
        }
        // A voice with timings gives them on every frame, empty where no character starts, and the
        // first frame of a sentence after another carries the whitespace between them, so the
        // frames' characters joined are the reply's text.
        let alignment: Alignment | null = chunk.alignment ?? (timed ? { chars: [], start_ms: [], duration_ms: [] } : null);
        if (alignment && sent === 1 && afterAnother && leading !== "") {
          const gap = [...leading];
          const zeros = gap.map(() => 0);
          alignment = { chars: [...gap, ...alignment.chars], start_ms: [...zeros, ...alignment.start_ms], duration_ms: [...zeros, ...alignment.duration_ms] };
        }
        // With timings, what was said is exactly their characters, each from its start; without, a
        // sentence counts as said once its audio has started.
        const marks: { atMs: number; spoken: string }[] = [];
        if (chunk.alignment) {
          chunk.alignment.chars.forEach((ch, k) => {
            said += ch;
            marks.push({ atMs: chunk.alignment?.start_ms[k] ?? 0, spoken: this.wholeSentences + leading + said });
          });
        } else if (!timed && sent === 1) {
          said = u.raw.trim();
          marks.push({ atMs: 0, spoken: this.wholeSentences + leading + said });
        }
        this.spoken = this.wholeSentences + leading + said;
        this.playback.add(pcmDurationMs(chunk.audio.length, sampleRate), marks, this.ctx.now());
        // From the voice's own timings, or from the audio (exactly spread once the sentence's audio is all here).
        const restVoiced = track && !chunk.alignment && u.done ? u.chunks.slice(sent - 1).reduce((n, c) => n + voicedMs(c.audio, sampleRate), 0) : null;
        const visemes = track ? track.frame(chunk.audio, chunk.alignment, restVoiced) : null;
        this.sink.audio({ audio: chunk.audio, alignment, visemes }, this.spoken);
        continue;
      }
      if (u.error !== undefined) throw u.error;
      if (u.done) {
        track?.finish();
        return;
      }
      await u.changes.next();
    }
  }

  /** Waits until the next frame may go without putting the client more than the lead ahead. */
  private async pace(): Promise<void> {
    for (;;) {
      this.ctx.signal.throwIfAborted();
      const wait = this.playback.waitMs(this.ctx.now(), this.settings.leadMs);
      if (wait === 0) return;
      await Promise.race([nextTask(wait), this.aborted]);
    }
  }
}
