import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AvatarApiError, AvatarClient, type ConnectionEvent, connect, type SocketFactory, type SocketLike } from "../src/client/index";
import { freshOrg } from "./helpers/auth";
import { cloud, makePly } from "./helpers/avatar-files";
import { BASE, KEYS } from "./helpers/http";

/**
 * The TypeScript client against the real API in the Workers runtime: typed REST with the API's
 * errors as one class, and a conversation socket (the API key in a header, as a server sends it)
 * that reconnects after a drop, replays what it missed and de-duplicates by seq. (The same client in
 * a browser: test/node/playground-browser.test.ts.)
 */

const apiFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input as RequestInfo, init));

/**
 * A socket as the client wants one (`new WebSocket(url)` semantics), made here by an upgrade request
 * to the Worker: the pool has no network, so the client's factory opens it this way.
 */
class PoolSocket implements SocketLike {
  readyState = 0;
  binaryType = "arraybuffer";
  private ws: WebSocket | undefined;
  private readonly listeners: [string, (e: { data?: unknown; code?: number; reason?: string }) => void][] = [];

  constructor(url: string, headers: Record<string, string>) {
    const http = url.replace(/^ws/, "http");
    void exports.default.fetch(new Request(http, { headers: { ...headers, Upgrade: "websocket" } })).then((res) => {
      const ws = res.webSocket;
      if (!ws) {
        this.readyState = 3;
        this.fire("close", { code: 1006, reason: `upgrade refused: ${res.status}` });
        return;
      }
      ws.accept();
      this.ws = ws;
      this.readyState = 1;
      ws.addEventListener("message", (e) => this.fire("message", { data: e.data }));
      ws.addEventListener("close", (e) => {
        this.readyState = 3;
        this.fire("close", { code: e.code, reason: e.reason });
      });
      this.fire("open", {});
    });
  }

  private fire(type: string, event: { data?: unknown; code?: number; reason?: string }) {
    for (const [t, l] of this.listeners) if (t === type) l(event);
  }

  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: { data?: unknown; code?: number; reason?: string }) => void) {
    this.listeners.push([type, listener]);
  }
  send(data: string | ArrayBufferLike | ArrayBufferView) {
    this.ws?.send(data as string);
  }
  close(code?: number, reason?: string) {
    this.ws?.close(code, reason);
    // The pool's in-process socket does not echo our own close back: say it here, as a browser would.
    if (this.readyState !== 3) {
      this.readyState = 3;
      this.fire("close", { code: code ?? 1005, reason: reason ?? "" });
    }
  }
}
const poolSocket: SocketFactory = (url, headers) => new PoolSocket(url, headers);

describe("REST", () => {
  it("lists and creates with types, and throws the API's errors as AvatarApiError", async () => {
    const client = new AvatarClient({ baseUrl: BASE, apiKey: KEYS.demo, fetch: apiFetch });
    const avatars = await client.listAvatars({ limit: 5 });
    expect(avatars.object).toBe("list");
    expect(avatars.data[0]?.object).toBe("avatar");
    const missing = await client.getConversation("conv_nope").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AvatarApiError);
    expect(missing).toMatchObject({ status: 404, type: "not_found", code: "conversation.not_found", requestId: expect.stringMatching(/^req_/) });
    const invalid = await client.createConversation({ avatar_id: "av_demo", max_duration_s: 1 }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: "parameter.invalid", param: "max_duration_s" });
    const limited = await new AvatarClient({
      baseUrl: BASE,
      fetch: async () =>
        new Response('{"error":{"type":"rate_limit","code":"rate_limit.exceeded","message":"slow down","request_id":"req_1"}}', {
          status: 429,
          headers: { "Retry-After": "7" },
        }),
    })
      .listAvatars()
      .catch((e: unknown) => e);
    expect(limited).toMatchObject({ status: 429, code: "rate_limit.exceeded", retryAfter: 7, requestId: "req_1" });
    const unreachable = await new AvatarClient({ baseUrl: BASE, fetch: () => Promise.reject(new TypeError("network down")) })
      .listAvatars()
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ type: "connection", code: "connection.failed" });
  });

  it("creates a custom avatar and uploads its file to the signed URL, without the key; a second upload is the API's error", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const sent: Headers[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push(new Headers(init?.headers));
      return apiFetch(input, init);
    };
    const client = new AvatarClient({ baseUrl: BASE, apiKey: org.key, fetch: recording });
    const avatar = await client.createAvatar({ name: "From the SDK", runtime_type: "gaussian", source_format: "ply" });
    expect(avatar).toMatchObject({ status: "processing", upload: { method: "PUT" } });
    const file = makePly(cloud(8));
    const stored = await client.uploadAvatarFile(avatar.upload, file);
    expect(stored).toMatchObject({ id: avatar.id, status: "processing" });
    expect(sent.at(-1)?.has("Authorization")).toBe(false);
    const again = await client.uploadAvatarFile(avatar.upload, file).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409, code: "avatar.upload_used" });
  });
});

describe("a conversation's socket", () => {
  it("reconnects after a drop, replays what it missed once, and says so", async () => {
    const client = new AvatarClient({ baseUrl: BASE, apiKey: KEYS.demo, fetch: apiFetch });
    const conv = await client.createConversation({ avatar_id: "av_demo", greeting: null, audio_lead_ms: 400 });
    const conn = await connect({ baseUrl: BASE, conversation: conv, apiKey: KEYS.demo, socket: poolSocket, backoffMs: [50] });
    const seqs: number[] = [];
    const connection: string[] = [];
    conn.onAny((e) => {
      if ("seq" in e && e.seq !== undefined) seqs.push(e.seq);
      if (["reconnecting", "reconnected", "closed"].includes(e.type)) connection.push(e.type);
    });
    const turnDone = () => new Promise<void>((resolve) => conn.on("metrics.turn", () => resolve()));

    // Audio paced 400 ms ahead of real time: a three-second reply is still going when the socket drops.
    const done = turnDone();
    conn.speak("This reply keeps going for a while. It is long enough to be cut by a drop in the middle of it. And then it goes on.");
    await new Promise<void>((resolve) => conn.on("avatar.audio.delta", () => resolve()));
    const reconnected = new Promise<Extract<ConnectionEvent, { type: "reconnected" }>>((resolve) => conn.on("reconnected", resolve));
    conn.drop();
    const again = await reconnected;
    await done;
    expect(connection.slice(0, 2)).toEqual(["reconnecting", "reconnected"]);
    expect(again.replayed).toBeGreaterThan(0);
    // Every logged event exactly once, in order, with no gap: the replay filled the drop.
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 1) + i));

    const closed = new Promise<void>((resolve) => conn.on("closed", () => resolve()));
    conn.end();
    await closed;
    expect(conn.state).toBe("closed");
  }, 30_000);

  it("refuses an API key without a socket that can send headers (a browser's)", async () => {
    await expect(connect({ baseUrl: BASE, conversation: { id: "conv_x" }, apiKey: KEYS.demo })).rejects.toThrow(AvatarApiError);
  });
});
