import { inject } from "vitest";
import { type Config, getConfig } from "../../src/config";
import type { TurnSink } from "../../src/durable-objects/conversation/pipeline";
import { createLogger } from "../../src/lib/logger";
import type { ProviderContext } from "../../src/providers/context";
import type { ChatEvent, ChatRequest, ChatResult, LlmProvider, ModelInfo } from "../../src/providers/llm/types";
import type { Alignment, AudioFormat, SpeechChunk, SpeechRequest, SpeechStream, TtsProvider } from "../../src/providers/tts/types";
import type { VoiceInfo } from "../../src/providers/tts/voices";

/**
 * Fakes for the conversation engine's unit tests: providers whose timing the test controls, a sink
 * that records what a client would receive, and a clock that only moves when told.
 */

/** The settings the Workers projects run with (test/vitest.config.ts provides them). */
export const testConfig = (): Config => getConfig(inject("settings"));
export const log = createLogger();

/** Real time passing (pacing and the player's task boundaries use real timers). */
export const sleep = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A clock that moves only when the test moves it. */
export class Clock {
  constructor(public t = 0) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** PCM16 at 24 kHz: 48 bytes a millisecond. */
export const BYTES_PER_MS_24K = 48;

/** `ms` of PCM16 24 kHz audio, every byte `fill` (so a test can tell frames apart). */
export const pcm = (ms: number, fill = 0, bytesPerMs = BYTES_PER_MS_24K) => new Uint8Array(Math.round(ms * bytesPerMs)).fill(fill);

/** Timings for `text`, one character every `stepMs`, from 0. */
export const timings = (text: string, stepMs = 10): Alignment => {
  const chars = [...text];
  return { chars, start_ms: chars.map((_, i) => i * stepMs), duration_ms: chars.map(() => stepMs) };
};

export const chunk = (audio: Uint8Array, alignment: Alignment | null = null): SpeechChunk => ({ audio, alignment });

/** Resolves once `signal` aborts, by rejecting with its reason. */
export const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });

/**
 * The audio of one synthesis, handed over by the test: `push` frames, then `end` or `fail`. The
 * stream stops with the signal's reason once its signal aborts, as a real provider's does.
 */
export class Feed {
  private readonly queued: SpeechChunk[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  /** The consumer has finished with the stream (ended, failed or aborted). */
  finished = false;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener("abort", () => this.notify(), { once: true });
  }

  push(...chunks: SpeechChunk[]): this {
    this.queued.push(...chunks);
    this.notify();
    return this;
  }

  end(): this {
    this.ended = true;
    this.notify();
    return this;
  }

  fail(error: unknown): this {
    this.failure = { error };
    this.notify();
    return this;
  }

  async *iterate(): AsyncGenerator<SpeechChunk> {
    try {
      for (;;) {
        this.signal.throwIfAborted();
        const next = this.queued.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      this.finished = true;
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

export interface TtsCall {
  request: SpeechRequest;
  signal: AbortSignal;
  feed: Feed;
}

/**
 * A speech provider the test drives. Without a script every synthesis waits for the test to feed
 * it (`calls[i].feed`); a script runs when the synthesis is requested and may feed it at once,
 * or throw (the request fails before any audio).
 */
export class FakeTts implements TtsProvider {
  readonly id = "mock" as const;
  readonly name = "Fake speech";
  readonly formats: readonly AudioFormat[] = ["pcm_16000", "pcm_24000"];
  readonly voices: readonly VoiceInfo[] = [];
  readonly calls: TtsCall[] = [];
  /** The most syntheses whose audio was still being read at once. */
  maxOpen = 0;

  constructor(
    readonly timings: boolean,
    private readonly script?: (text: string, feed: Feed, call: number) => void,
  ) {}

  configured(): boolean {
    return true;
  }

  get texts(): string[] {
    return this.calls.map((c) => c.request.text);
  }

  get open(): number {
    return this.calls.filter((c) => !c.feed.finished).length;
  }

  async synthesize(request: SpeechRequest, ctx: ProviderContext): Promise<SpeechStream> {
    ctx.signal.throwIfAborted();
    const feed = new Feed(ctx.signal);
    this.calls.push({ request, signal: ctx.signal, feed });
    this.maxOpen = Math.max(this.maxOpen, this.open);
    this.script?.(request.text, feed, this.calls.length - 1);
    return { contentType: "audio/pcm", chunks: feed.iterate() };
  }
}

export type SinkEvent = { kind: "delta"; text: string } | { kind: "started"; at: number } | { kind: "audio"; chunk: SpeechChunk; spoken: string; at: number };

/** What a client would receive, in order, each with the time (of `now`) it was sent. */
export class RecordingSink implements TurnSink {
  readonly events: SinkEvent[] = [];
  private readonly audioWaiters: { count: number; resolve: () => void }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  delta(text: string): void {
    this.events.push({ kind: "delta", text });
  }

  speechStarted(): void {
    this.events.push({ kind: "started", at: this.now() });
  }

  audio(chunk: SpeechChunk, spokenSoFar: string): void {
    this.events.push({ kind: "audio", chunk, spoken: spokenSoFar, at: this.now() });
    const frames = this.frames.length;
    for (const waiter of this.audioWaiters.filter((w) => w.count <= frames)) {
      this.audioWaiters.splice(this.audioWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  get frames() {
    return this.events.filter((e): e is Extract<SinkEvent, { kind: "audio" }> => e.kind === "audio");
  }

  get deltas(): string[] {
    return this.events.flatMap((e) => (e.kind === "delta" ? [e.text] : []));
  }

  /** Resolves once `count` frames have been sent. */
  framesSent(count: number): Promise<void> {
    if (this.frames.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.audioWaiters.push({ count, resolve }));
  }
}

/** The characters of every frame's alignment, joined (what a client would show as captions). */
export const alignedText = (sink: RecordingSink) => sink.frames.map((f) => f.chunk.alignment?.chars.join("") ?? "").join("");

/**
 * A chat provider the test scripts: `script` is the stream, given the call's signal; `rejectWith`
 * makes `stream()` itself fail (before the first byte).
 */
export class FakeLlm implements LlmProvider {
  readonly id = "mock" as const;
  readonly name = "Fake chat";
  readonly models: readonly ModelInfo[] = [];
  signal: AbortSignal | undefined;
  requests: ChatRequest[] = [];

  constructor(
    private readonly script: (signal: AbortSignal) => AsyncIterable<ChatEvent>,
    private readonly rejectWith?: unknown,
  ) {}

  configured(): boolean {
    return true;
  }

  complete(): Promise<ChatResult> {
    throw new Error("not used by the conversation");
  }

  async stream(request: ChatRequest, ctx: ProviderContext): Promise<AsyncIterable<ChatEvent>> {
    this.requests.push(request);
    this.signal = ctx.signal;
    ctx.signal.throwIfAborted();
    if (this.rejectWith !== undefined) throw this.rejectWith;
    return this.script(ctx.signal);
  }
}

export const delta = (content: string): ChatEvent => ({ type: "delta", content });
