import type { Config } from "../../config";
import type { OutputAudioFormat } from "../../db/schema";
import type { Logger } from "../../lib/logger";
import type { SpeechChunk, TtsProvider } from "../../providers/tts/types";

/**
 * Sentences in, audio out in order. Each sentence goes to the TTS provider as soon as it is added,
 * up to `MAX_IN_FLIGHT` at once, and its audio is buffered as it arrives; a player sends the
 * buffered audio strictly in sentence order, so sentence 2 can be synthesized while sentence 1
 * plays and its first frame goes out the moment sentence 1's last one has.
 */

/** Sentences synthesized at once: enough to keep the player fed, few enough to be polite upstream. */
const MAX_IN_FLIGHT = 3;

export interface SpeechSettings {
  provider: TtsProvider;
  voice: string;
  format: OutputAudioFormat;
}

export interface SpeechContext {
  signal: AbortSignal;
  config: Config;
  log: Logger;
  now: () => number;
}

export interface AudioSink {
  /** Before the first audio frame of the turn. */
  speechStarted(): void;
  /** One frame, with everything sent as audio so far (this frame included). */
  audio(chunk: SpeechChunk, spokenSoFar: string): void;
}

/** Lets the event loop run: storage commits, sends, other sockets' frames. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Markdown the model may write but nobody should hear ("asterisk asterisk"). */
const speakable = (text: string) =>
  text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_\x60#>~|]+/g, "")
    .trim();

/** One sentence: its text as the LLM wrote it, and its audio as far as it has arrived. */
class Utterance {
  readonly chunks: SpeechChunk[] = [];
  done = false;
  error: unknown;
  private waiter: (() => void) | undefined;

  constructor(
    /** The raw slice of the reply, surrounding whitespace included. */
    readonly raw: string,
    readonly text: string,
  ) {}

  changed(): void {
    this.waiter?.();
    this.waiter = undefined;
  }

  /** Resolves at the next change (a chunk, the end, an error). Only the player waits. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

export class SpeechQueue {
  private readonly utterances: Utterance[] = [];
  private started = 0;
  private inFlight = 0;
  private closed = false;
  private playerWaiter: (() => void) | undefined;
  /** Everything sent as audio, as the reply's text (whole sentences plus the current one's start). */
  spoken = "";
  /** The sentences played to the end. */
  private wholeSentences = "";
  speechStarted = false;
  /** Unicode code points sent to the TTS provider: what its speech costs, heard or not. */
  synthesizedCharacters = 0;
  /** The first sentence's time from request to first audio. */
  ttsFirstByteMs: number | null = null;
  firstAudioAt: number | null = null;
  /** Settles when every added sentence has been played, or rejects with the first failure. */
  readonly played: Promise<void>;

  constructor(
    private readonly settings: SpeechSettings,
    private readonly sink: AudioSink,
    private readonly ctx: SpeechContext,
  ) {
    // An abort must reach a player that is waiting for audio or for the next sentence.
    ctx.signal.addEventListener("abort", () => {
      this.wakePlayer();
      for (const u of this.utterances) u.changed();
    });
    this.played = this.play();
    // Observed by the turn; this keeps an early failure from being reported as unhandled meanwhile.
    this.played.catch(() => {});
  }

  add(raw: string): void {
    this.utterances.push(new Utterance(raw, speakable(raw)));
    this.startMore();
    this.wakePlayer();
  }

  /** No more sentences: `played` settles once the ones added have been sent. */
  close(): void {
    this.closed = true;
    this.wakePlayer();
  }

  private wakePlayer(): void {
    this.playerWaiter?.();
    this.playerWaiter = undefined;
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
        u.changed();
        // A provider that makes audio faster than the network brings it (the mock makes a whole
        // sentence in one go) would otherwise hold the object until the sentence is done: the first
        // frame could not be committed and sent before the last was made.
        await nextTask();
      }
    } catch (err) {
      u.error = err;
    } finally {
      u.done = true;
      u.changed();
      this.inFlight--;
      this.startMore();
    }
  }

  private async play(): Promise<void> {
    for (let i = 0; ; i++) {
      while (i >= this.utterances.length) {
        this.ctx.signal.throwIfAborted();
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.playerWaiter = resolve;
        });
      }
      const u = this.utterances[i];
      if (!u) return;
      await this.playOne(u);
      this.wholeSentences += u.raw;
      this.spoken = this.wholeSentences;
    }
  }

  private async playOne(u: Utterance): Promise<void> {
    const leading = u.raw.slice(0, u.raw.length - u.raw.trimStart().length);
    let sent = 0;
    let said = "";
    for (;;) {
      this.ctx.signal.throwIfAborted();
      while (sent < u.chunks.length) {
        const chunk = u.chunks[sent++];
        if (!chunk) continue;
        if (!this.speechStarted) {
          this.speechStarted = true;
          this.firstAudioAt = this.ctx.now();
          this.sink.speechStarted();
        }
        // With timings, what was said is exactly their characters; without, a sentence counts as
        // said once its audio has started.
        said = chunk.alignment ? said + chunk.alignment.chars.join("") : u.raw.trim();
        this.spoken = this.wholeSentences + leading + said;
        this.sink.audio(chunk, this.spoken);
      }
      if (u.error !== undefined) throw u.error;
      if (u.done) return;
      await u.next();
    }
  }
}
