/**
 * The avatar's voice in a browser: each `avatar.audio.delta` (PCM16 mono) is scheduled through Web
 * Audio right after the one before it, so frames play without gaps or overlaps however unevenly they
 * arrive; `stop()` silences at once (an interrupt). Browsers start audio only after a user gesture
 * (iOS Safari most strictly): call `unlock()` from a click or key handler before the first reply.
 * `playedMs(turnId)` is how much of a turn has been heard, what the API cuts an interrupted reply at.
 */
export class AudioPlayer {
  private context: AudioContext | undefined;
  private sources: AudioBufferSourceNode[] = [];
  /** When the next frame starts, on the context's clock (s). */
  private nextAt = 0;
  private turn: { id: string; startedAt: number } | undefined;
  /** Frames scheduled, and those that started later than the one before ended (a gap) — for tests and meters. */
  readonly stats = { scheduled: 0, gaps: 0, underruns: 0 };

  constructor(private readonly options: { lookaheadS?: number } = {}) {}

  /** Creates or resumes the audio context; call it from a user gesture. */
  async unlock(): Promise<void> {
    this.context ??= new AudioContext();
    if (this.context.state !== "running") await this.context.resume();
  }

  /** One frame of a turn's audio (base64 PCM16 at `sampleRate`). */
  play(turnId: string, base64: string, sampleRate: number): void {
    this.context ??= new AudioContext();
    const ctx = this.context;
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const samples = new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1);
    if (samples.length === 0) return;
    const buffer = ctx.createBuffer(1, samples.length, sampleRate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = (samples[i] ?? 0) / 32768;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const lookahead = this.options.lookaheadS ?? 0.05;
    const now = ctx.currentTime;
    if (this.nextAt < now) {
      // Nothing queued: start a little ahead. Behind within a turn is an underrun (the network was late).
      if (this.turn?.id === turnId && this.sources.length > 0) this.stats.underruns++;
      if (this.turn?.id === turnId && this.stats.scheduled > 0 && this.sources.length > 0) this.stats.gaps++;
      this.nextAt = now + lookahead;
    }
    if (this.turn?.id !== turnId) this.turn = { id: turnId, startedAt: this.nextAt };
    source.start(this.nextAt);
    this.nextAt += buffer.duration;
    this.stats.scheduled++;
    this.sources.push(source);
    source.onended = () => {
      this.sources = this.sources.filter((s) => s !== source);
    };
  }

  /** Milliseconds of `turnId` played by now (0 for another turn). */
  playedMs(turnId: string): number {
    if (!this.context || this.turn?.id !== turnId) return 0;
    return Math.max(0, Math.min(this.context.currentTime, this.nextAt) - this.turn.startedAt) * 1000;
  }

  /** Whether audio is playing now. */
  get playing(): boolean {
    return this.context !== undefined && this.nextAt > this.context.currentTime;
  }

  /** Silences everything scheduled, at once. */
  stop(): void {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        // Already ended.
      }
    }
    this.sources = [];
    if (this.context) this.nextAt = this.context.currentTime;
  }
}
