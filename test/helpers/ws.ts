import { exports } from "cloudflare:workers";
import { afterEach, expect } from "vitest";
import type { ServerEvent, ServerEventType } from "../../src/durable-objects/conversation.protocol";
import { api, BASE, KEYS } from "./http";

/**
 * A conversation WebSocket client for tests: every frame is kept in arrival order, and `next`
 * reads them in order (like a client's message loop), waiting for the ones not there yet.
 */
export class Socket {
  readonly frames: string[] = [];
  readonly events: ServerEvent[] = [];
  closed: { code: number; reason: string } | null = null;
  /** Where `next` reads from. */
  position = 0;
  private wake: (() => void) | undefined;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (e) => {
      const frame = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
      this.frames.push(frame);
      this.events.push(JSON.parse(frame) as ServerEvent);
      this.wake?.();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake?.();
    });
  }

  /** Text as is, binary as is, anything else as JSON. */
  send(frame: unknown): void {
    if (typeof frame === "string" || frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) this.ws.send(frame as string | ArrayBuffer);
    else this.ws.send(JSON.stringify(frame));
  }

  /** Resolves once `ready()` holds, or fails after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.events.map((e) => e.type).join(", ")}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  /** The next event (of `type`, skipping others, when given). */
  async next<T extends ServerEventType>(type?: T, timeoutMs?: number): Promise<Extract<ServerEvent, { type: T }>> {
    let found: ServerEvent | undefined;
    await this.until(
      () => {
        while (this.position < this.events.length) {
          const event = this.events[this.position++];
          if (event && (type === undefined || event.type === type)) {
            found = event;
            return true;
          }
        }
        return false;
      },
      type ?? "an event",
      timeoutMs,
    );
    return found as Extract<ServerEvent, { type: T }>;
  }

  /** The next logged event (one with a seq), skipping ephemeral ones and those for this socket only. */
  async nextLogged(timeoutMs?: number): Promise<ServerEvent> {
    for (;;) {
      const event = await this.next(undefined, timeoutMs);
      if (event.seq !== undefined) return event;
    }
  }

  /** Waits for the socket to be closed by the server. */
  async closedBy(timeoutMs?: number) {
    await this.until(() => this.closed !== null, "the close", timeoutMs);
    return this.closed;
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // Already closed.
    }
  }

  /** Events from index `from` (default: all) of these types. */
  ofTypes(types: ServerEventType[], from = 0): ServerEvent[] {
    return this.events.slice(from).filter((e) => types.includes(e.type));
  }
}

export interface ConnectOptions {
  key?: string | null;
  token?: string;
  lastSeq?: number;
}

/** The raw upgrade response (for the refusals). */
export function upgrade(conversationId: string, opts: ConnectOptions = {}, headers: Record<string, string> = { Upgrade: "websocket" }) {
  const url = new URL(`/v1/conversations/${conversationId}/ws`, BASE);
  if (opts.token !== undefined) url.searchParams.set("token", opts.token);
  if (opts.lastSeq !== undefined) url.searchParams.set("last_seq", String(opts.lastSeq));
  const key = opts.key === undefined ? (opts.token === undefined ? KEYS.demo : null) : opts.key;
  return exports.default.fetch(new Request(url, { headers: { ...headers, ...(key ? { Authorization: `Bearer ${key}` } : {}) } }));
}

/**
 * The sockets of a test file, closed after each test: `open` connects and, with `ready` (the
 * default), reads `session.ready` first; `track` adds a socket made some other way.
 */
export function socketsClosedAfterEach({ ready = true }: { ready?: boolean } = {}) {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  const track = (socket: Socket): Socket => {
    sockets.push(socket);
    return socket;
  };
  const open = async (...args: Parameters<typeof connect>): Promise<Socket> => {
    const socket = track(await connect(...args));
    if (ready) await socket.next("session.ready");
    return socket;
  };
  return { open, track };
}

export async function connect(conversationId: string, opts: ConnectOptions = {}): Promise<Socket> {
  const res = await upgrade(conversationId, opts);
  if (res.status !== 101) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  expect(res.webSocket).toBeTruthy();
  return new Socket(res.webSocket as WebSocket);
}

export interface CreatedConversation {
  id: string;
  status: string;
  transport: { type: string; url: string };
  client_secret: { value: string; expires_at: string };
  [field: string]: unknown;
}

/** Creates a conversation (201 asserted); the body defaults to the demo avatar and no greeting. */
export async function createConversation(body: Record<string, unknown> = {}, key: string = KEYS.demo): Promise<CreatedConversation> {
  const res = await api("/v1/conversations", {
    method: "POST",
    key,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ avatar_id: "av_demo", greeting: null, ...body }),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedConversation;
}

/** PCM16 little-endian bytes of base64 audio frames, joined. */
export function pcmOf(frames: { audio: string }[]): Int16Array {
  const parts = frames.map((f) => Uint8Array.from(atob(f.audio), (ch) => ch.charCodeAt(0)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return new Int16Array(bytes.buffer, 0, total >> 1);
}
