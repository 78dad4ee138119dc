import type { TurnState } from "../conversation.protocol";

/**
 * Turn taking, explicitly: one turn runs at a time, in the order they were asked for. Interrupting
 * and enqueuing are separate steps (a new user message does both; `avatar.interrupt` only the
 * first; voice input will interrupt on speech and enqueue on the final transcript).
 *
 * Every turn is tagged with the generation it was enqueued in. `interrupt()` aborts every turn of
 * the current generation, running or waiting, and starts a new one; a turn enqueued afterwards
 * belongs to the new generation and runs normally. A turn whose signal is aborted before it starts
 * still runs (with the aborted signal), so it can record what it was given (the user's message)
 * and close itself as interrupted: nothing a client asked for disappears without an answer.
 *
 * `state` names what the avatar is doing, for clients (`avatar.state`): `idle` (nothing running),
 * `listening` (nothing running, the user speaking), `thinking` (a turn running, no audio yet),
 * `speaking` (its audio is going out).
 */

export type { TurnState };

export interface TurnHandle {
  /** Aborted by `interrupt()` (or `close()`). */
  readonly signal: AbortSignal;
  /** The running turn reports its progress (it starts `thinking`). */
  setState(state: "thinking" | "speaking"): void;
}

interface Pending {
  generation: number;
  abort: AbortController;
}

export class TurnQueue {
  private generation = 0;
  private readonly pending = new Set<Pending>();
  private tail: Promise<unknown> = Promise.resolve();
  private current: TurnState = "idle";
  private userSpeaking = false;

  constructor(private readonly onState: (state: TurnState) => void = () => {}) {}

  get state(): TurnState {
    return this.current;
  }

  /** Whether a turn is running or waiting. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Aborts every turn running or waiting; turns enqueued from now on run normally. */
  interrupt(reason?: unknown): void {
    for (const turn of this.pending) if (turn.generation === this.generation) turn.abort.abort(reason);
    this.generation += 1;
  }

  /** Runs `turn` after the ones before it have finished; resolves or rejects with it. */
  enqueue<T>(turn: (handle: TurnHandle) => Promise<T>): Promise<T> {
    const entry: Pending = { generation: this.generation, abort: new AbortController() };
    this.pending.add(entry);
    const handle: TurnHandle = { signal: entry.abort.signal, setState: (state) => this.setState(state) };
    const run = this.tail
      .then(() => {
        this.setState("thinking");
        return turn(handle);
      })
      .finally(() => {
        this.pending.delete(entry);
        if (this.pending.size === 0) this.setState(this.userSpeaking ? "listening" : "idle");
      });
    this.tail = run.catch(() => {});
    return run;
  }

  /** The user started or stopped speaking: `listening` while no turn runs. */
  listening(on: boolean): void {
    this.userSpeaking = on;
    if (this.pending.size === 0) this.setState(on ? "listening" : "idle");
  }

  /** Resolves once every turn enqueued so far has finished. */
  settled(): Promise<void> {
    return this.tail.then(() => {});
  }

  private setState(state: TurnState): void {
    if (state === this.current) return;
    this.current = state;
    this.onState(state);
  }
}
