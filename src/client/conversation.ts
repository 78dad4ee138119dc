import { AvatarApiError } from "./errors";
import type { ClientEvent, ServerEvent } from "./types";

/**
 * A conversation's WebSocket, as an app wants it: typed events (the protocol's own union), the
 * client frames as methods, and a connection that survives drops. After an unexpected close it
 * reconnects with backoff and `?last_seq=<the highest seq it has>`, skips every logged event it has
 * already seen (the API's de-duplication rule: logged events carry a seq, others do not), and says
 * so (`reconnecting`, `reconnected {replayed}`). An API key never goes in a URL: a browser connects
 * with the conversation's client secret (`?token=`, as browsers cannot set headers on a WebSocket);
 * Node passes a `WebSocket` class that takes headers (the `ws` package) and may use an API key.
 */

/** What `new WebSocket(url, …)` must give: the browser's, or `ws` in Node. */
export interface SocketLike {
  readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
}
export type SocketFactory = (url: string, headers: Record<string, string>) => SocketLike;

export interface ConnectOptions {
  /** The API's origin (http(s):), or the conversation's `transport.url` is used as is. */
  baseUrl?: string;
  conversation: { id: string; transport?: { url: string } };
  /** For browsers: the `client_secret.value` the create response gave. */
  clientSecret?: string;
  /** For servers only (never in a browser): needs a `socket` factory that can send headers. */
  apiKey?: string;
  /** How to open a socket; the global WebSocket by default (browsers, Node 22+). */
  socket?: SocketFactory;
  /** Reconnect delays (ms), the last repeated; default 250, 500, 1000, 2000, 5000. */
  backoffMs?: number[];
  /** Give up after this many failed attempts in a row (default 10). */
  maxAttempts?: number;
}

/** Events of the connection itself, beside the protocol's. */
export type ConnectionEvent =
  | { type: "open" }
  | { type: "reconnecting"; attempt: number; delayMs: number; code: number | undefined }
  | { type: "reconnected"; replayed: number }
  | { type: "closed"; code: number | undefined; reason: string | undefined };

type AnyEvent = ServerEvent | ConnectionEvent;
type EventOf<T extends AnyEvent["type"]> = Extract<AnyEvent, { type: T }>;
type Handler<T extends AnyEvent["type"]> = (event: EventOf<T>) => void;

const OPEN = 1;
/** Close codes after which reconnecting cannot help: a normal close, a policy refusal (revoked key, too many sockets). */
const FINAL_CODES = new Set([1000, 1008]);

/** Opens the conversation's socket; resolves at `session.ready`, rejects if the first connection fails. */
export async function connect(options: ConnectOptions): Promise<ConversationConnection> {
  const connection = new ConversationConnection(options);
  await connection.opened;
  return connection;
}

export class ConversationConnection {
  /** The highest seq received: a resume starts after it. */
  lastSeq = 0;
  /** `connecting`, `open`, `reconnecting` or `closed`. */
  state: "connecting" | "open" | "reconnecting" | "closed" = "connecting";
  readonly opened: Promise<void>;
  private ws: SocketLike | undefined;
  private readonly handlers = new Map<string, Set<(event: never) => void>>();
  private attempts = 0;
  private closedByUs = false;
  private replaying: { count: number } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: ConnectOptions) {
    if (options.apiKey && !options.socket) {
      throw new AvatarApiError({
        type: "invalid_request",
        code: "client.api_key_in_browser",
        message: "An API key needs a socket factory that sends headers (Node's ws); browsers connect with the client secret.",
        status: 0,
      });
    }
    this.opened = new Promise((resolve, reject) => {
      const off = this.on("session.ready", () => {
        off();
        resolve();
      });
      const offClose = this.on("closed", (e) => {
        offClose();
        reject(
          new AvatarApiError({
            type: "connection",
            code: "connection.closed",
            message: `The socket closed before session.ready (${e.code ?? "no code"} ${e.reason ?? ""}).`,
            status: 0,
          }),
        );
      });
    });
    this.opened.catch(() => {});
    this.open();
  }

  /** Listens to one event type (a protocol event or a connection event); returns the way to stop. */
  on<T extends AnyEvent["type"]>(type: T, handler: Handler<T>): () => void {
    const set = this.handlers.get(type) ?? new Set();
    this.handlers.set(type, set);
    set.add(handler as (event: never) => void);
    return () => set?.delete(handler as (event: never) => void);
  }

  /** Every event, in order (`"*"`). */
  onAny(handler: (event: AnyEvent) => void): () => void {
    return this.on("*" as AnyEvent["type"], handler as Handler<AnyEvent["type"]>);
  }

  sendText(text: string, eventId?: string) {
    this.send({ type: "input.text", text, ...(eventId ? { event_id: eventId } : {}) });
  }
  speak(text: string) {
    this.send({ type: "avatar.speak", text });
  }
  /** Stops the avatar; `playedMs` (what the user heard of `turnId`) cuts the stored reply there. */
  interrupt(played?: { turnId: string; playedMs: number }) {
    if (played) this.send({ type: "avatar.playback", turn_id: played.turnId, played_ms: Math.max(0, Math.round(played.playedMs)) });
    this.send({ type: "avatar.interrupt" });
  }
  updateSession(change: Omit<Extract<ClientEvent, { type: "session.update" }>, "type">) {
    this.send({ type: "session.update", ...change });
  }
  toolResult(callId: string, result: { output: unknown } | { error: string }) {
    this.send({ type: "tool.result", call_id: callId, ...result } as ClientEvent);
  }
  /** PCM16 little-endian mono at the conversation's input rate, 20–100 ms a frame. */
  sendAudio(pcm: ArrayBufferLike | ArrayBufferView) {
    if (this.ws?.readyState === OPEN) this.ws.send(pcm);
  }
  commitAudio() {
    this.send({ type: "input.audio.commit" });
  }
  /** Ends the conversation for everyone, then closes. */
  end() {
    this.send({ type: "session.end" });
  }

  send(event: ClientEvent): void {
    if (this.ws?.readyState !== OPEN)
      throw new AvatarApiError({ type: "connection", code: "connection.not_open", message: `The socket is ${this.state}.`, status: 0 });
    this.ws.send(JSON.stringify(event));
  }

  /** Closes without reconnecting. */
  close(): void {
    this.closedByUs = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ws?.close(1000, "client closed");
    this.setClosed(1000, "client closed");
  }

  /** For tests and demos: drops the connection as a network would (it reconnects). */
  drop(): void {
    this.ws?.close(4000, "dropped");
  }

  private url(): string {
    const { baseUrl, conversation, clientSecret } = this.options;
    const base = baseUrl ? `${baseUrl.replace(/^http/, "ws").replace(/\/$/, "")}/v1/conversations/${conversation.id}/ws` : (conversation.transport?.url ?? "");
    const url = new URL(base);
    if (clientSecret) url.searchParams.set("token", clientSecret);
    if (this.lastSeq > 0) url.searchParams.set("last_seq", String(this.lastSeq));
    return url.toString();
  }

  private open(): void {
    const headers: Record<string, string> = this.options.apiKey ? { Authorization: `Bearer ${this.options.apiKey}` } : {};
    const ws = this.options.socket ? this.options.socket(this.url(), headers) : (new WebSocket(this.url()) as unknown as SocketLike);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => this.emit({ type: "open" }));
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      this.receive(JSON.parse(e.data) as ServerEvent);
    });
    ws.addEventListener("close", (e) => {
      // Once per socket, and only for the current one.
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.onClose(e.code, e.reason);
    });
  }

  private receive(event: ServerEvent): void {
    if (event.seq !== undefined) {
      if (event.seq <= this.lastSeq) return; // seen before the drop: skipped
      this.lastSeq = event.seq;
      if (this.replaying) this.replaying.count++;
    }
    if (event.type === "session.ready") {
      const resumed = this.state === "reconnecting";
      this.state = "open";
      this.attempts = 0;
      this.emit(event);
      if (resumed) {
        // The replay follows session.ready; it is over when the log reaches where session.ready said it stood.
        const until = event.last_seq;
        this.replaying = { count: 0 };
        const done = () => {
          const replayed = this.replaying?.count ?? 0;
          this.replaying = undefined;
          this.emit({ type: "reconnected", replayed });
        };
        if (this.lastSeq >= until) done();
        else {
          const off = this.onAny((e) => {
            if ("seq" in e && e.seq !== undefined && e.seq >= until) {
              off();
              queueMicrotask(done);
            }
          });
        }
      }
      return;
    }
    this.emit(event);
  }

  private onClose(code: number | undefined, reason: string | undefined): void {
    if (this.closedByUs || FINAL_CODES.has(code ?? 0) || this.state === "closed") {
      this.setClosed(code, reason);
      return;
    }
    const max = this.options.maxAttempts ?? 10;
    if (this.state === "connecting" && this.lastSeq === 0 && this.attempts === 0 && code === 1006) {
      // Refused before it ever opened: nothing to resume.
      this.setClosed(code, reason);
      return;
    }
    if (this.attempts >= max) {
      this.setClosed(code, reason);
      return;
    }
    const backoff = this.options.backoffMs ?? [250, 500, 1000, 2000, 5000];
    const delayMs = backoff[Math.min(this.attempts, backoff.length - 1)] ?? 1000;
    this.attempts++;
    this.state = "reconnecting";
    this.emit({ type: "reconnecting", attempt: this.attempts, delayMs, code });
    this.timer = setTimeout(() => this.open(), delayMs);
  }

  private setClosed(code: number | undefined, reason: string | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.emit({ type: "closed", code, reason });
  }

  private emit(event: AnyEvent): void {
    for (const h of this.handlers.get(event.type) ?? []) (h as (e: AnyEvent) => void)(event);
    for (const h of this.handlers.get("*") ?? []) (h as (e: AnyEvent) => void)(event);
  }
}
