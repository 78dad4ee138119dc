import type { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { nextTask } from "../../lib/time";
import type { ServerEvent, ServerEventBody } from "../conversation.protocol";
import type { ConversationStore } from "./store";

/**
 * What the conversation's sockets receive, in four kinds:
 * - `emit`: logged events. Numbered (`seq`), written to the log and sent to every socket (and the
 *   REST stream listening, if any) in one synchronous step, so a socket replaying the log never
 *   misses or repeats one. The runtime lets them leave once the write is durable.
 * - `stream`: the logged events of a reply in progress (its deltas, its speech starting, its
 *   audio), sent at once and written later (store.ts `behind`: a task later until the first audio
 *   is out, then together): the first audio does not wait for a commit. Their seqs are reserved in
 *   storage ahead of use, so an object restarted before it wrote them goes on past them and never
 *   gives a client's seq to another event.
 * - `broadcast`: ephemeral events for every socket (a state change; later, interim transcripts).
 *   Not logged, no `seq`: a socket that was away does not get them back.
 * - `sendTo`: events for one socket (its `session.ready`, an error answering its frame). Not logged,
 *   no `seq`.
 * A resuming socket gets its replay in slices (`replay`) that yield to the event loop, so a long log
 * does not hold up live listeners; live events skip it until its replay has caught up with the log,
 * which it reads to the end in the same synchronous step that lets it join the live stream.
 */

export type Listener = (frame: string, event: ServerEvent) => void;

/** Rows read and sent per slice of a replay: audio frames are ~13 KB, so about 100 KB a slice (32 rows, ~400 KB, held live listeners up to ~90 ms on a loaded 2-core machine). */
const REPLAY_SLICE_ROWS = 8;

/**
 * Seqs reserved at a time for `stream`: a restart in the middle of a reply skips at most this many
 * (one write each time they run out; a sentence of mock speech is ~10 events).
 */
const STREAM_RESERVE = 256;

/** `type` first, then the envelope, then the event's own fields (Object.assign keeps that order). */
const envelope = (body: ServerEventBody, seq: number | undefined, now: number, replyTo: string | null): ServerEvent =>
  Object.assign(
    { type: body.type, event_id: newId("evt") },
    seq === undefined ? {} : { seq },
    { ts: new Date(now).toISOString() },
    replyTo ? { reply_to: replyTo } : {},
    body,
  ) as ServerEvent;

function send(ws: WebSocket, frame: string): void {
  try {
    ws.send(frame);
  } catch {
    // A socket closing meanwhile; it will resume from the log if it comes back.
  }
}

export class EventStream {
  /** The seq of the newest logged event. */
  lastSeq: number;
  /** Seqs up to this one may be sent before they are written (`stream`); it is stored first. */
  private reserved: number;
  /** Sockets still receiving their replay: live events wait for them in the log. */
  private readonly replaying = new Set<WebSocket>();

  constructor(
    private readonly store: ConversationStore,
    private readonly sockets: () => WebSocket[],
  ) {
    // Past a reservation left by a restart in the middle of a reply (events sent, maybe not written);
    // that reply's closing (turn-runner `closeLost`) is logged next, so the newest seq is a real event again.
    this.lastSeq = Math.max(store.lastSeq(), store.seqReserved());
    this.reserved = this.lastSeq;
  }

  /** A logged event, for every socket, sent once it is written. */
  emit(body: ServerEventBody, replyTo: string | null = null, listener?: Listener): ServerEvent {
    const { seq, now, event, frame } = this.next(body, replyTo);
    this.store.appendEvent(seq, now, frame);
    if (this.reserved > seq) {
      // The reply's stream is over: a restart from here on continues the sequence without a gap.
      this.reserved = seq;
      this.store.saveSeqReserved(seq);
    }
    this.out(frame, event, listener);
    return event;
  }

  /** A logged event of a reply in progress, for every socket: sent at once, written later (store.ts `behind`). */
  stream(body: ServerEventBody, replyTo: string | null = null, listener?: Listener): ServerEvent {
    // Stored before this event can leave: the runtime holds it until this task's writes are durable.
    if (this.lastSeq >= this.reserved) this.reserve();
    const { seq, now, event, frame } = this.next(body, replyTo);
    this.store.appendEventSoon(seq, now, frame);
    this.out(frame, event, listener);
    return event;
  }

  /**
   * Reserves the next seqs for `stream`. A reply calls it as it starts, in a task that writes
   * anyway, so its first streamed event has no write of its own to wait for.
   */
  reserve(): void {
    this.reserved = this.lastSeq + STREAM_RESERVE;
    this.store.saveSeqReserved(this.reserved);
  }

  /** The next logged event: its seq, its time and its frame. */
  private next(body: ServerEventBody, replyTo: string | null): { seq: number; now: number; event: ServerEvent; frame: string } {
    const seq = ++this.lastSeq;
    const now = Date.now();
    const event = envelope(body, seq, now, replyTo);
    return { seq, now, event, frame: JSON.stringify(event) };
  }

  private out(frame: string, event: ServerEvent, listener: Listener | undefined): void {
    this.toLive(frame);
    listener?.(frame, event);
  }

  /** An ephemeral event for every socket: not logged, no seq. */
  broadcast(body: ServerEventBody): void {
    this.toLive(JSON.stringify(envelope(body, undefined, Date.now(), null)));
  }

  /** An event for one socket only: not logged, no seq. */
  sendTo(ws: WebSocket, body: ServerEventBody, replyTo: string | null = null): void {
    send(ws, JSON.stringify(envelope(body, undefined, Date.now(), replyTo)));
  }

  sendError(ws: WebSocket, error: ApiError, replyTo: string | null = null): void {
    this.sendTo(ws, { type: "error", code: error.code, message: error.message, ...(error.param === undefined ? {} : { param: error.param }) }, replyTo);
  }

  /**
   * Sends `ws` every logged event after `afterSeq`, then lets it join the live stream. Live events
   * logged meanwhile reach it through the log, in order, exactly once.
   */
  async replay(ws: WebSocket, afterSeq: number): Promise<void> {
    this.replaying.add(ws);
    try {
      let cursor = afterSeq;
      for (;;) {
        for (const row of this.store.eventsAfter(cursor, REPLAY_SLICE_ROWS)) {
          send(ws, row.frame);
          cursor = row.seq;
        }
        // Caught up: nothing awaits between this check and joining the live stream (finally).
        if (cursor >= this.lastSeq) return;
        await nextTask();
        if (ws.readyState !== WebSocket.OPEN) return;
      }
    } finally {
      this.replaying.delete(ws);
    }
  }

  private toLive(frame: string): void {
    for (const ws of this.sockets()) if (!this.replaying.has(ws)) send(ws, frame);
  }
}

/**
 * Frames per socket and second. Kept in memory: a socket that floods keeps its object awake, and
 * after hibernation a fresh window is the right answer anyway.
 */
export class FrameLimiter {
  private readonly windows = new WeakMap<WebSocket, { start: number; count: number; warned: boolean }>();

  constructor(private readonly perSecond: number) {}

  /** "allow", "refuse" (drop it), or "warn" (drop it, and say so: the first refusal of a second). */
  check(ws: WebSocket, now = Date.now()): "allow" | "refuse" | "warn" {
    let window = this.windows.get(ws);
    if (!window || now - window.start >= 1000) {
      window = { start: now, count: 0, warned: false };
      this.windows.set(ws, window);
    }
    window.count += 1;
    if (window.count <= this.perSecond) return "allow";
    if (window.warned) return "refuse";
    window.warned = true;
    return "warn";
  }
}
