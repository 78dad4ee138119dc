import { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";
import { isObject } from "../json";
import { CallerGone, unavailable } from "../upstream";
import type { SocketMessage, UpstreamSocket } from "../upstream-socket";
import type { SttStream, SttStreamEvents, Transcription } from "./types";

/**
 * A streaming speech-to-text session over an upstream WebSocket (Deepgram live, Workers AI's
 * Deepgram models), for one socket's voice in a conversation. The socket is opened at once and the
 * audio appended meanwhile is queued; the session stays open between utterances, sending a
 * keep-alive while the user is silent (Deepgram closes a socket after 10 s without audio or one),
 * until `close()`.
 *
 * What the upstream's messages mean is the `LiveProtocol`'s business (Deepgram's `Results`, Flux's
 * `TurnInfo`); the session keeps the utterance's text: the final segments so far and the latest
 * interim one. `finish()` asks the upstream to flush (its `finalize` message) and resolves with
 * the final text once the upstream says it has flushed, or after `finishTimeoutMs` with what it
 * has (a slow flush must not hold the turn up for long). A failure (the upstream dropping, timing
 * out, refusing) is reported once through `events.error`, a pending `finish` rejects with it, and
 * the session is closed: its owner opens a new one for the next utterance.
 */

/** What the session does with one of the upstream's messages. */
export type LiveMessage =
  | { kind: "segment"; text: string; final: boolean; flushed: boolean; endOfTurn: boolean }
  | { kind: "speech_started" }
  | { kind: "end_of_turn"; text?: string }
  | { kind: "ignored" };

export interface LiveProtocol {
  /** Sent when an utterance is over: the upstream flushes what it holds. Undefined: nothing to send. */
  finalize?: string;
  /** Sent while no audio flows. */
  keepAlive?: string;
  /** Sent before closing: the upstream flushes and closes. */
  closeStream?: string;
  read(message: JsonMessage): LiveMessage;
}

export type JsonMessage = Record<string, unknown>;

export interface LiveOptions {
  provider: string;
  /** The longest `finish()` waits for the flush. */
  finishTimeoutMs: number;
  /** Silence (no audio appended) after which a keep-alive is sent, and again as long as it lasts. */
  keepAliveMs: number;
}

/** Deepgram and Pipecat's keep-alive interval: well inside Deepgram's 10 s. */
export const KEEP_ALIVE_MS = 4000;

export function liveSession(
  open: () => Promise<UpstreamSocket>,
  protocol: LiveProtocol,
  events: SttStreamEvents,
  ctx: ProviderContext,
  options: LiveOptions,
): SttStream {
  let socket: UpstreamSocket | undefined;
  const queued: (string | Int16Array)[] = [];
  let closed = false;
  let failed: ApiError | undefined;
  /** The utterance: its final segments, the newest interim one, what was last reported. */
  let finals: string[] = [];
  let latest = "";
  let reported = "";
  let endSignalled = false;
  /** Audio appended since the upstream ended the turn: a flush is needed before the text is whole. */
  let audioSinceEnd = false;
  /** After `clear()`: results until the upstream's flush belong to the forgotten speech. */
  let discarding = false;
  let waiter: { resolve: (t: Transcription) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> } | undefined;
  let keepAlive: ReturnType<typeof setTimeout> | undefined;

  const text = () => [...finals, latest].filter((t) => t !== "").join(" ");
  const resetUtterance = () => {
    finals = [];
    latest = "";
    reported = "";
    endSignalled = false;
    audioSinceEnd = false;
  };

  const send = (message: string | Int16Array) => {
    if (closed || failed) return;
    if (!socket) {
      queued.push(message);
      return;
    }
    try {
      socket.send(message);
    } catch (err) {
      fail(err);
    }
  };

  const armKeepAlive = () => {
    if (keepAlive !== undefined) clearTimeout(keepAlive);
    if (closed || failed || !protocol.keepAlive) return;
    keepAlive = setTimeout(() => {
      if (protocol.keepAlive) send(protocol.keepAlive);
      armKeepAlive();
    }, options.keepAliveMs);
  };

  const settle = (outcome: { text: string } | { error: unknown }) => {
    const w = waiter;
    waiter = undefined;
    if (!w) return;
    clearTimeout(w.timer);
    if ("text" in outcome) w.resolve({ text: outcome.text, language: null });
    else w.reject(outcome.error);
  };

  const stop = () => {
    closed = true;
    if (keepAlive !== undefined) clearTimeout(keepAlive);
    keepAlive = undefined;
  };

  function fail(err: unknown): void {
    if (failed || closed) return;
    failed = err instanceof ApiError ? err : unavailable(options.provider, "broke off the connection");
    stop();
    socket?.close(1011, "failed");
    settle({ error: failed });
    events.error(failed);
  }

  const onMessage = (message: JsonMessage) => {
    const read = protocol.read(message);
    if (read.kind === "speech_started") {
      if (!discarding) events.speechStarted();
      return;
    }
    if (read.kind === "end_of_turn") {
      if (discarding) return;
      if (read.text !== undefined) {
        finals = read.text === "" ? [] : [read.text];
        latest = "";
      }
      if (waiter) settle({ text: text() });
      else if (!endSignalled) {
        endSignalled = true;
        audioSinceEnd = false;
        events.endOfTurn();
      }
      return;
    }
    if (read.kind !== "segment") return;
    if (discarding) {
      if (read.flushed) discarding = false;
      return;
    }
    if (read.final) {
      if (read.text !== "") finals.push(read.text);
      latest = "";
    } else {
      latest = read.text;
    }
    const now = text();
    if (now !== reported) {
      reported = now;
      events.interim(now);
    }
    if (read.flushed && waiter) settle({ text: text() });
    else if (read.endOfTurn && !endSignalled) {
      endSignalled = true;
      audioSinceEnd = false;
      events.endOfTurn();
    }
  };

  const readLoop = async (s: UpstreamSocket) => {
    try {
      for await (const message of s) {
        const parsed = parse(message);
        if (parsed) onMessage(parsed);
      }
      // The upstream closed normally without being asked: nothing more will be heard on it.
      if (!closed) fail(unavailable(options.provider, "closed the connection"));
    } catch (err) {
      if (!(err instanceof CallerGone)) fail(err);
    }
  };

  open().then(
    (s) => {
      if (closed || failed) {
        s.close(1000, "done");
        return;
      }
      socket = s;
      for (const message of queued.splice(0)) send(message);
      armKeepAlive();
      void readLoop(s);
    },
    (err: unknown) => {
      if (!(err instanceof CallerGone)) fail(err);
    },
  );
  ctx.signal.addEventListener("abort", () => session.close(), { once: true });

  const session: SttStream = {
    append(samples) {
      if (closed || failed || samples.length === 0) return;
      send(samples);
      audioSinceEnd = true;
      armKeepAlive();
    },
    finish() {
      if (failed) return Promise.reject(failed);
      if (closed) return Promise.reject(new CallerGone());
      // The upstream ended the turn itself and nothing came after: its text is whole already.
      if (endSignalled && !audioSinceEnd) {
        const done = { text: text(), language: null };
        resetUtterance();
        return Promise.resolve(done);
      }
      const result = new Promise<Transcription>((resolve, reject) => {
        const timer = setTimeout(() => {
          ctx.log.warn("speech-to-text: no flush in time; the final text is what was heard", { provider: options.provider, after_ms: options.finishTimeoutMs });
          settle({ text: text() });
        }, options.finishTimeoutMs);
        waiter = { resolve, reject, timer };
      });
      if (protocol.finalize) send(protocol.finalize);
      return result.finally(resetUtterance);
    },
    clear() {
      resetUtterance();
      if (protocol.finalize) {
        discarding = true;
        send(protocol.finalize);
      }
    },
    close() {
      if (closed) return;
      if (protocol.closeStream) send(protocol.closeStream);
      stop();
      settle({ error: new CallerGone() });
      socket?.close(1000, "done");
    },
  };
  return session;
}

/** A text frame's JSON object; anything else (binary, not JSON) is not a message the session reads. */
function parse(message: SocketMessage): JsonMessage | undefined {
  if (typeof message !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(message);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
