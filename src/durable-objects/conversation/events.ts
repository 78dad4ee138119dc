import type { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { ServerEvent, ServerEventBody } from "../conversation.protocol";
import type { ConversationStore } from "./store";

/**
 * The conversation's event stream: each event numbered, written to the log and only then sent to
 * every socket (and to the one REST stream listening, if any), in one synchronous step, so that a
 * socket replaying the log never misses or repeats one. Events for one socket are not logged.
 */

export type Listener = (frame: string, event: ServerEvent) => void;

/** `type` first, then the envelope, then the event's own fields (Object.assign keeps that order). */
const envelope = (body: ServerEventBody, seq: number, now: number, replyTo: string | null): ServerEvent =>
  Object.assign({ type: body.type, event_id: newId("evt"), seq, ts: new Date(now).toISOString() }, replyTo ? { reply_to: replyTo } : {}, body);

function send(ws: WebSocket, frame: string): void {
  try {
    ws.send(frame);
  } catch {
    // A socket closing meanwhile; it will resume from the log if it comes back.
  }
}

export class EventStream {
  /** The seq of the newest event. */
  lastSeq: number;

  constructor(
    private readonly store: ConversationStore,
    private readonly sockets: () => WebSocket[],
  ) {
    this.lastSeq = store.lastSeq();
  }

  emit(body: ServerEventBody, replyTo: string | null = null, listener?: Listener): ServerEvent {
    const now = Date.now();
    const seq = ++this.lastSeq;
    const event = envelope(body, seq, now, replyTo);
    const frame = JSON.stringify(event);
    this.store.appendEvent(seq, now, frame);
    for (const ws of this.sockets()) send(ws, frame);
    listener?.(frame, event);
    return event;
  }

  /** An event for one socket only (not logged, not replayed): it carries the current seq. */
  sendTo(ws: WebSocket, body: ServerEventBody, replyTo: string | null = null): void {
    send(ws, JSON.stringify(envelope(body, this.lastSeq, Date.now(), replyTo)));
  }

  sendError(ws: WebSocket, error: ApiError, replyTo: string | null = null): void {
    this.sendTo(ws, { type: "error", code: error.code, message: error.message, ...(error.param === undefined ? {} : { param: error.param }) }, replyTo);
  }

  /** A stored event, sent again as it was (a resume). */
  static resend(ws: WebSocket, frame: string): void {
    send(ws, frame);
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
