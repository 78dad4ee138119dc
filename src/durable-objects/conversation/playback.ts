/**
 * What a client has heard of a turn's audio, as far as the server can tell. Audio is made far
 * faster than it is played, so what was *sent* says little about what was *heard*; this keeps the
 * turn's audio as a timeline (each frame's place in the audio, and the text spoken up to each
 * point) and models a client that plays each frame as it arrives, after the ones before it. That
 * model gives:
 * - `waitMs`: how long to hold the next frame so the client's buffer stays within the lead;
 * - `heardMs`: how far the client has played, from its own report (`avatar.playback`) when it sent
 *   one, else from the model; never more than was sent;
 * - `spokenAt`: the text whose audio had started by a point of the audio, which is what is stored
 *   and reported as spoken when the turn is interrupted.
 * Pure and clock-free (every call takes `now`), so it is tested without a runtime.
 */

interface Mark {
  /** Audio position (ms from the turn's first audio) where this text's last character starts. */
  atMs: number;
  /** Everything spoken once the audio reaches `atMs`. */
  spoken: string;
}

export class Playback {
  /** Audio sent so far, in ms. */
  sentMs = 0;
  private readonly marks: Mark[] = [];
  /** Wall-clock time each frame starts playing in the model, and where it sits in the audio. */
  private readonly frames: { playAt: number; audioAt: number; durationMs: number }[] = [];
  private report: { playedMs: number; at: number } | undefined;

  /** A frame of `durationMs` sent at `now`; `marks` are relative to the frame's start. */
  add(durationMs: number, marks: readonly Mark[], now: number): void {
    const last = this.frames.at(-1);
    const playAt = last ? Math.max(now, last.playAt + last.durationMs) : now;
    this.frames.push({ playAt, audioAt: this.sentMs, durationMs });
    for (const mark of marks) this.marks.push({ atMs: this.sentMs + mark.atMs, spoken: mark.spoken });
    this.sentMs += durationMs;
  }

  /** Audio a client playing frames as they arrive has played by `now`. */
  modelPlayedMs(now: number): number {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const frame = this.frames[i];
      if (frame && frame.playAt <= now) return frame.audioAt + Math.min(frame.durationMs, now - frame.playAt);
    }
    return 0;
  }

  /** How long to hold the next frame so that at most `leadMs` of audio waits in the client's buffer. */
  waitMs(now: number, leadMs: number): number {
    return Math.max(0, Math.ceil(this.sentMs - this.modelPlayedMs(now) - leadMs));
  }

  /** The client says it had played `playedMs` of this turn's audio at `now`. */
  reported(playedMs: number, now: number): void {
    this.report = { playedMs, at: now };
  }

  /** How far the client has played by `now`: its report, carried forward in real time, else the model. */
  heardMs(now: number): number {
    const played = this.report ? this.report.playedMs + (now - this.report.at) : this.modelPlayedMs(now);
    return Math.max(0, Math.min(this.sentMs, played));
  }

  /** The text whose last character's audio started before `audioMs`. */
  spokenAt(audioMs: number): string {
    let spoken = "";
    for (const mark of this.marks) {
      if (mark.atMs >= audioMs) break;
      spoken = mark.spoken;
    }
    return spoken;
  }
}

/** The duration of raw PCM16 mono bytes at `sampleRate`. */
export const pcmDurationMs = (bytes: number, sampleRate: number): number => (bytes / 2 / sampleRate) * 1000;
