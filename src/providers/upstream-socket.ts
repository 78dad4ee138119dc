import { ApiError } from "../lib/errors";
import { answerOf, CallerGone, clientMessage, redact, timeoutError, type UpstreamRules, unavailable } from "./upstream";

/**
 * An outbound WebSocket to an upstream provider (streaming speech-to-text: Deepgram, Workers AI),
 * under upstream.ts's rules. A Worker opens one the Workers way: a `fetch` with `Upgrade:
 * websocket`, whose `101` answer carries the socket to `accept()`. Then:
 * - no `101` within `connectTimeoutMs`: `503 provider.timeout`;
 * - cannot connect: `503 provider.unavailable`; any other answer is the typed error its status
 *   gives over HTTP (429 `provider.rate_limited`; 400, 413, 422 `provider.rejected`; else
 *   `provider.unavailable`), its body read for the log;
 * - nothing from the upstream for `idleTimeoutMs` while a message is awaited: `503
 *   provider.timeout`, and the socket is closed;
 * - the upstream closing with an error code: the typed error that code means (`closeError`),
 *   thrown by the read after the messages that came before it; a normal close ends the messages;
 * - the caller's signal aborting: the socket is closed and reads and sends raise `CallerGone`.
 * A client is told a fixed text naming the provider and the close code; the upstream's close
 * reason and anything it said in failing go to the log, redacted.
 */

export interface UpstreamSocketCall extends UpstreamRules {
  /** `https://` (or `wss://`, which is the same address to `fetch`). */
  url: string;
  /** Sent with the upgrade request: the key, a subprotocol. */
  headers: Record<string, string>;
  /** The longest wait for the upgrade's answer. */
  connectTimeoutMs: number;
  /** The longest a read waits for the upstream's next message; `Infinity` waits as long as the caller does. */
  idleTimeoutMs: number;
}

/** A text frame as a string, a binary one as bytes. */
export type SocketMessage = string | Uint8Array;

/** What the upstream's close code means to a client; 1000 and 1005 (no code) are a normal end. */
export function closeError(provider: string, code: number): ApiError | undefined {
  if (code === 1000 || code === 1005) return undefined;
  const note = ` (close code ${code})`;
  // 1003 unsupported data, 1007 invalid payload, 1008 policy violation, 1009 too big: our input was refused.
  if (code === 1003 || code === 1007 || code === 1008 || code === 1009) {
    return new ApiError("provider.rejected", `${provider} refused what was sent${note}.`);
  }
  // Application codes 4000-4999: many upstreams put an HTTP status in them (4429, 4401, ...).
  const status = code - 4000;
  if (status >= 400 && status <= 599) {
    const message = clientMessage(provider, status, undefined);
    if (status === 429) return new ApiError("provider.rate_limited", message);
    if (status === 400 || status === 413 || status === 422) return new ApiError("provider.rejected", message);
    return new ApiError("provider.unavailable", message);
  }
  // 1001 going away, 1006 no close frame, 1011 server error, 1012 restart, 1013 try again later, ...
  return unavailable(provider, `closed the connection${note}`);
}

/** `wss://` and `ws://` as `fetch` takes them (it upgrades http(s) requests). */
const fetchable = (url: string) => url.replace(/^ws(s?):\/\//i, "http$1://");

/**
 * Opens the socket. Resolves once the upstream accepted the upgrade; every failure before that
 * is thrown here as the typed error, so a route can still answer it with an HTTP status.
 */
export async function openUpstreamSocket(call: UpstreamSocketCall): Promise<UpstreamSocket> {
  const url = fetchable(call.url);
  const { response, secrets, detach } = await answerOf(
    { ...call, url, init: { method: "GET", headers: { ...call.headers, Upgrade: "websocket" } }, firstByteTimeoutMs: call.connectTimeoutMs },
    (res) => res.status === 101 && res.webSocket !== null,
  );
  // The request's own signal has done its work: from here the socket follows the caller itself.
  detach();
  const socket = new UpstreamSocket(response.webSocket as WebSocket, { ...call, secrets });
  // The caller may have left while the upgrade was answered: the socket closed itself at once.
  if (call.signal.aborted) throw new CallerGone();
  return socket;
}

interface Waiter {
  resolve: (result: IteratorResult<SocketMessage>) => void;
  reject: (err: unknown) => void;
}

/**
 * An open upstream socket: `send` text or bytes, read the upstream's messages with `next()` or
 * `for await` (one reader). Leaving the loop, `close()`, or the caller's signal closes it.
 */
export class UpstreamSocket implements AsyncIterableIterator<SocketMessage> {
  private readonly queue: SocketMessage[] = [];
  private waiter: Waiter | undefined;
  /** Why reading ended: "done" after a normal close, else the error every later read throws. */
  private ended: "done" | Error | undefined;
  private readonly onAbort = () => {
    // Nobody is there to read what already came.
    this.queue.length = 0;
    this.finish(new CallerGone(), { close: "the caller went away" });
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly call: Pick<UpstreamSocketCall, "provider" | "idleTimeoutMs" | "signal" | "secrets" | "log">,
  ) {
    ws.binaryType = "arraybuffer";
    ws.accept();
    ws.addEventListener("message", (event) => this.received(event.data));
    ws.addEventListener("close", (event) => this.closed(event.code, event.reason));
    ws.addEventListener("error", (event) => {
      // Once it ended (we closed it, it closed), the end was already said; a late error is its echo.
      if (this.ended !== undefined) return;
      call.log.warn("upstream socket failed", { provider: call.provider, error: redact(String(event.message ?? event.error), call.secrets) });
      this.finish(unavailable(call.provider, "broke off the connection"), { close: "error" });
    });
    if (call.signal.aborted) this.onAbort();
    else call.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Sends a text frame (a string) or a binary one (bytes). Throws why the socket ended, if it did. */
  send(message: string | ArrayBuffer | ArrayBufferView): void {
    if (this.ended !== undefined) throw this.ended === "done" ? unavailable(this.call.provider, "closed the connection") : this.ended;
    try {
      this.ws.send(message);
    } catch (err) {
      this.call.log.warn("upstream socket send failed", { provider: this.call.provider, error: redact(String(err), this.call.secrets) });
      const error = unavailable(this.call.provider, "broke off the connection");
      this.finish(error, { close: "error" });
      throw error;
    }
  }

  /** The upstream's next message; done after a normal close; its typed error after any other end. */
  next(): Promise<IteratorResult<SocketMessage>> {
    const message = this.queue.shift();
    if (message !== undefined) return Promise.resolve({ done: false, value: message });
    if (this.ended === "done") return Promise.resolve({ done: true, value: undefined });
    if (this.ended) return Promise.reject(this.ended);
    if (this.waiter) return Promise.reject(new Error("an upstream socket has one reader"));
    return new Promise((resolve, reject) => {
      const { idleTimeoutMs } = this.call;
      const timer = Number.isFinite(idleTimeoutMs)
        ? setTimeout(() => {
            this.call.log.warn("upstream socket went quiet", { provider: this.call.provider, after_ms: idleTimeoutMs });
            this.finish(timeoutError(this.call.provider), { close: "idle timeout" });
          }, idleTimeoutMs)
        : null;
      const settled = () => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      this.waiter = {
        resolve: (result) => {
          settled();
          resolve(result);
        },
        reject: (err) => {
          settled();
          reject(err);
        },
      };
    });
  }

  /** Leaving a `for await` loop: the reader is done with the socket. */
  async return(): Promise<IteratorResult<SocketMessage>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Closes the socket normally; messages not yet read are dropped. */
  close(code = 1000, reason = "done"): void {
    this.queue.length = 0;
    this.finish("done", { close: reason, code });
  }

  private received(data: unknown): void {
    if (this.ended !== undefined) return;
    const message = typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined;
    if (message === undefined) {
      // binaryType is "arraybuffer", so nothing else should arrive; a message dropped silently would corrupt the stream.
      this.call.log.warn("upstream socket sent an unreadable message", { provider: this.call.provider, type: Object.prototype.toString.call(data) });
      this.finish(unavailable(this.call.provider, "sent a message that could not be read"), { close: "unreadable message", code: 1003 });
      return;
    }
    if (this.waiter) this.waiter.resolve({ done: false, value: message });
    else this.queue.push(message);
  }

  private closed(code: number, reason: string): void {
    if (this.ended !== undefined) return;
    const error = closeError(this.call.provider, code);
    if (error) {
      // Its reason is the upstream's own words: the operator's to read, redacted.
      this.call.log.warn("upstream socket closed", { provider: this.call.provider, code, reason: redact(reason, this.call.secrets) });
    }
    this.finish(error ?? "done", {});
  }

  /** Ends reading once: the waiting read (if any) learns why, later ones too after the queue. */
  private finish(why: "done" | Error, how: { close?: string; code?: number }): void {
    if (this.ended !== undefined) return;
    this.ended = why;
    this.call.signal.removeEventListener("abort", this.onAbort);
    if (how.close !== undefined) {
      try {
        this.ws.close(how.code ?? 1000, how.close);
      } catch {
        // Already closing or closed: nothing left to tell the upstream.
      }
    }
    const waiter = this.waiter;
    if (!waiter) return;
    if (why === "done") waiter.resolve({ done: true, value: undefined });
    else waiter.reject(why);
  }
}
