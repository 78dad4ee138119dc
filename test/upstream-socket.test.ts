import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../src/lib/logger";
import { type ProviderDescriptor, providerSocket, ttsWaits } from "../src/providers/provider-call";
import { CallerGone } from "../src/providers/upstream";
import { closeError, openUpstreamSocket, type UpstreamSocket, type UpstreamSocketCall } from "../src/providers/upstream-socket";
import { LEAKS, leakyMessage } from "./helpers/leaks";
import {
  deployment,
  fakeSocketUpstream,
  jsonResponse,
  noAnswer,
  providerContext,
  rejection,
  sleep,
  typedErrors,
  unreachable,
  watchLogs,
} from "./helpers/upstream-harness";

/**
 * The outbound WebSocket helper against a fake upstream: fetch is intercepted, an upgrade is
 * answered `101` with one end of a WebSocketPair, and the test plays the upstream on the other.
 * The same rules as HTTP calls: bounded waits, typed errors, the caller's signal, no credentials
 * in anything a client could read.
 */

afterEach(() => vi.restoreAllMocks());

const KEY = "dg-socket-secret-0123456789";
const HOST = "fake-deepgram.test";
const CONNECT_MS = 200;
const IDLE_MS = 300;
const SETTINGS = {
  DEEPGRAM_API_KEY: KEY,
  DEEPGRAM_BASE_URL: `https://${HOST}`,
  TTS_FIRST_BYTE_TIMEOUT_MS: String(CONNECT_MS),
  TTS_STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
};
const CONFIG = deployment(SETTINGS);

// Failures are logged; the key must not be, whatever happened.
const logs = watchLogs([KEY]);
const { apiErrorOf, expectApiError } = typedErrors([KEY, HOST]);

/** A listener as voice input will have one: Deepgram's `Token` key, its error body. */
const LISTENER: ProviderDescriptor = {
  id: "deepgram",
  name: "Deepgram",
  settings: (config) => config.tts.deepgram,
  waits: ttsWaits,
  auth: (apiKey) => ({ Authorization: `Token ${apiKey}` }),
  errorMessage: (body) => (typeof body === "object" && body !== null && "err_msg" in body ? String(body.err_msg) : undefined),
  errorCode: (body) => (typeof body === "object" && body !== null && "err_code" in body ? String(body.err_code) : undefined),
};

const listen = (signal?: AbortSignal) => providerSocket(LISTENER, { path: "/v1/listen?model=nova-3&encoding=linear16" }, providerContext(CONFIG, signal));

/** The helper called directly, with its own waits. */
const call = (extra: Partial<UpstreamSocketCall> = {}): UpstreamSocketCall => ({
  provider: "deepgram",
  url: `wss://${HOST}/v1/listen`,
  headers: { Authorization: `Token ${KEY}` },
  connectTimeoutMs: CONNECT_MS,
  idleTimeoutMs: IDLE_MS,
  signal: new AbortController().signal,
  secrets: [KEY],
  log: createLogger(),
  ...extra,
});

const bytes = (...values: number[]) => Uint8Array.from(values);

/** A read that is still waiting after `ms`: "pending", else what it settled with. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | "pending" | { rejected: unknown }> {
  return Promise.race([promise.catch((rejected: unknown) => ({ rejected })), sleep(ms).then(() => "pending" as const)]);
}

describe("connecting", () => {
  it("upgrades over fetch with the key, to the provider's base URL and path", async () => {
    const { sent } = fakeSocketUpstream();
    const socket = await listen();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe(`https://${HOST}/v1/listen?model=nova-3&encoding=linear16`);
    expect(sent[0]?.method).toBe("GET");
    expect(sent[0]?.headers.get("upgrade")).toBe("websocket");
    expect(sent[0]?.headers.get("authorization")).toBe(`Token ${KEY}`);
    socket.close();
  });

  it("takes a wss:// address, and fetches it as https://", async () => {
    const { sent } = fakeSocketUpstream();
    const socket = await openUpstreamSocket(call());
    expect(sent[0]?.url).toBe(`https://${HOST}/v1/listen`);
    socket.close();
  });

  it("is provider.not_configured without a key, and calls nobody", async () => {
    const { sent } = fakeSocketUpstream();
    const bare = deployment({ ...SETTINGS, DEEPGRAM_API_KEY: "" });
    await apiErrorOf(providerSocket(LISTENER, { path: "/v1/listen" }, providerContext(bare)), "provider.not_configured");
    expect(sent).toHaveLength(0);
  });

  it("no upgrade within the connect timeout is provider.timeout, and the request is aborted", async () => {
    const { sent } = fakeSocketUpstream(noAnswer);
    const started = Date.now();
    const err = await apiErrorOf(listen(), "provider.timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECT_MS - 10);
    expect(Date.now() - started).toBeLessThan(CONNECT_MS + 1000);
    expect(err.status).toBe(503);
    expect(err.message).toBe("deepgram did not answer in time; try again, or another model.");
    expect(sent[0]?.signal?.aborted).toBe(true);
  });

  it("a connection refused is provider.unavailable with a fixed text; what the network said goes to the log, redacted", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED ${HOST}:443 (${KEY})`));
    const err = await apiErrorOf(listen(), "provider.unavailable");
    expect(err.message).toBe("deepgram could not be reached; try again shortly.");
    expect(logs.lines().some((line) => line.includes("upstream unreachable") && line.includes("ECONNREFUSED"))).toBe(true);
  });

  it.each([
    [400, "provider.rejected", "deepgram refused the request as invalid (upstream code: INVALID_QUERY)."],
    [413, "provider.rejected", "deepgram refused the request as too large (upstream code: INVALID_QUERY)."],
    [422, "provider.rejected", "deepgram refused the request as unprocessable (upstream code: INVALID_QUERY)."],
    [
      401,
      "provider.unavailable",
      "deepgram did not accept this deployment's credentials (HTTP 401, upstream code: INVALID_QUERY); the operator of this deployment must check its account there.",
    ],
    [
      403,
      "provider.unavailable",
      "deepgram denied this deployment access (HTTP 403, upstream code: INVALID_QUERY); the operator of this deployment must check its account there.",
    ],
    [500, "provider.unavailable", "deepgram failed with a server error (HTTP 500, upstream code: INVALID_QUERY); try again shortly."],
    [200, "provider.unavailable", "deepgram answered unexpectedly (HTTP 200, upstream code: INVALID_QUERY); try again shortly."],
  ] as const)("an answer of %i instead of 101 is %s, as over HTTP, and the upstream's words stay in the log", async (status, code, message) => {
    fakeSocketUpstream(() => jsonResponse({ err_code: "INVALID_QUERY", err_msg: leakyMessage(KEY) }, status));
    const err = await apiErrorOf(listen(), code);
    expect(err.message).toBe(message);
    for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    expect(logs.refusedDetail()).toContain("could not route this request");
  });

  it("429 is provider.rate_limited with the upstream's Retry-After", async () => {
    fakeSocketUpstream(() => jsonResponse({ err_code: "TOO_MANY_REQUESTS", err_msg: "slow down" }, 429, { "retry-after": "4" }));
    const err = await apiErrorOf(listen(), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "4" });
    expect(err.message).toBe("deepgram is rate limiting this deployment (upstream code: TOO_MANY_REQUESTS); retry in 4 s.");
  });

  it("a caller already gone sends nothing", async () => {
    const { sent } = fakeSocketUpstream();
    const caller = new AbortController();
    caller.abort();
    expect(await rejection(listen(caller.signal))).toBeInstanceOf(CallerGone);
    expect(sent).toHaveLength(0);
  });
});

describe("talking", () => {
  it("sends text and bytes, and reads the upstream's text and bytes in order", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    const upstream = sockets[0];
    socket.send(JSON.stringify({ type: "KeepAlive" }));
    socket.send(bytes(1, 2, 3, 250));
    await upstream?.receivedCount(2);
    expect(upstream?.received).toEqual([JSON.stringify({ type: "KeepAlive" }), bytes(1, 2, 3, 250)]);

    upstream?.server.send(JSON.stringify({ type: "Results", is_final: false }));
    upstream?.server.send(bytes(9, 8, 7));
    upstream?.server.send("third");
    expect(await socket.next()).toEqual({ done: false, value: JSON.stringify({ type: "Results", is_final: false }) });
    expect(await socket.next()).toEqual({ done: false, value: bytes(9, 8, 7) });
    expect(await socket.next()).toEqual({ done: false, value: "third" });
    socket.close();
  });

  it("reads with for await; a normal close by the upstream ends the loop after its last messages", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    const upstream = sockets[0];
    upstream?.server.send("one");
    upstream?.server.send("two");
    upstream?.server.close(1000, "done");
    const seen: unknown[] = [];
    for await (const message of socket) seen.push(message);
    expect(seen).toEqual(["one", "two"]);
    expect(await socket.next()).toEqual({ done: true, value: undefined });
    expect(logs.lines()).toEqual([]);
  });

  it("leaving the loop closes the socket, normally", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    sockets[0]?.server.send("one");
    for await (const message of socket) {
      expect(message).toBe("one");
      break;
    }
    expect(await sockets[0]?.closed).toEqual({ code: 1000, reason: "done" });
  });

  it("close() is a normal close the upstream sees, and a send after it is refused", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    socket.close();
    expect(await sockets[0]?.closed).toEqual({ code: 1000, reason: "done" });
    expect(await socket.next()).toEqual({ done: true, value: undefined });
    expectApiError(
      (() => {
        try {
          socket.send("late");
        } catch (err) {
          return err;
        }
      })(),
      "provider.unavailable",
    );
  });
});

describe("waiting", () => {
  it("a read that waits longer than the idle timeout throws provider.timeout, and the socket is closed", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    sockets[0]?.server.send("early");
    expect(await socket.next()).toEqual({ done: false, value: "early" });
    const started = Date.now();
    const err = await apiErrorOf(socket.next(), "provider.timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 10);
    expect(Date.now() - started).toBeLessThan(IDLE_MS + 1000);
    expect(err.message).toBe("deepgram did not answer in time; try again, or another model.");
    expect(await sockets[0]?.closed).toEqual({ code: 1000, reason: "idle timeout" });
    await apiErrorOf(socket.next(), "provider.timeout");
    expect(logs.lines().some((line) => line.includes("upstream socket went quiet"))).toBe(true);
  });

  it("the idle clock runs only while a read waits: messages that came meanwhile are there", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    await sleep(IDLE_MS + 100);
    sockets[0]?.server.send("later");
    expect(await socket.next()).toEqual({ done: false, value: "later" });
    socket.close();
  });

  it("the waits can be the caller's own (a listener waits through a user's silence)", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await providerSocket(
      LISTENER,
      { path: "/v1/listen", waits: { firstByteTimeoutMs: CONNECT_MS, idleTimeoutMs: Number.POSITIVE_INFINITY } },
      providerContext(CONFIG),
    );
    const read = socket.next();
    expect(await settledWithin(read, IDLE_MS + 200)).toBe("pending");
    sockets[0]?.server.send("at last");
    expect(await read).toEqual({ done: false, value: "at last" });
    socket.close();
  });
});

describe("the upstream closing", () => {
  it.each([
    [1011, "provider.unavailable", "deepgram closed the connection (close code 1011); try again shortly."],
    [1001, "provider.unavailable", "deepgram closed the connection (close code 1001); try again shortly."],
    [1008, "provider.rejected", "deepgram refused what was sent (close code 1008)."],
    [1009, "provider.rejected", "deepgram refused what was sent (close code 1009)."],
    [4429, "provider.rate_limited", "deepgram is rate limiting this deployment."],
    [
      4401,
      "provider.unavailable",
      "deepgram did not accept this deployment's credentials (HTTP 401); the operator of this deployment must check its account there.",
    ],
    [4000, "provider.unavailable", "deepgram closed the connection (close code 4000); try again shortly."],
  ] as const)("with %i: the messages before it, then %s; its reason goes to the log only, redacted", async (code, expected, message) => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    const upstream = sockets[0];
    upstream?.server.send("before");
    upstream?.server.close(code, `NET-0001 ${HOST} said no (${KEY.slice(0, 60)})`);
    expect(await socket.next()).toEqual({ done: false, value: "before" });
    const err = await apiErrorOf(socket.next(), expected);
    expect(err.message).toBe(message);
    const closed = logs.lines().find((line) => line.includes("upstream socket closed"));
    expect(closed).toContain("NET-0001");
    expect(closed).not.toContain(HOST);
    // Every later read and send says the same.
    await apiErrorOf(socket.next(), expected);
    expect(() => socket.send("more")).toThrow(err.message);
  });

  it("a reason that names the key is redacted in the log, and the client sees only the fixed text", async () => {
    const { sockets } = fakeSocketUpstream();
    const socket = await listen();
    sockets[0]?.server.close(1011, `bad key ${KEY}`);
    const err = await apiErrorOf(socket.next(), "provider.unavailable");
    expect(err.message).not.toContain("bad key");
  });

  it("maps close codes as HTTP statuses are mapped", () => {
    expect(closeError("x", 1000)).toBeUndefined();
    expect(closeError("x", 1005)).toBeUndefined();
    expect(closeError("x", 1003)?.code).toBe("provider.rejected");
    expect(closeError("x", 1007)?.code).toBe("provider.rejected");
    expect(closeError("x", 4400)?.code).toBe("provider.rejected");
    expect(closeError("x", 4413)?.code).toBe("provider.rejected");
    expect(closeError("x", 4422)?.code).toBe("provider.rejected");
    expect(closeError("x", 4429)?.code).toBe("provider.rate_limited");
    expect(closeError("x", 4503)?.code).toBe("provider.unavailable");
    expect(closeError("x", 1006)?.code).toBe("provider.unavailable");
    expect(closeError("x", 1013)?.code).toBe("provider.unavailable");
  });
});

describe("the caller going away", () => {
  it("closes the socket: a waiting read raises CallerGone, and so do later reads and sends; nothing is logged", async () => {
    const { sockets } = fakeSocketUpstream();
    const caller = new AbortController();
    const socket: UpstreamSocket = await listen(caller.signal);
    sockets[0]?.server.send("unread");
    await sleep(10);
    const read = socket.next();
    expect(await read).toEqual({ done: false, value: "unread" });
    const waiting = socket.next();
    caller.abort();
    expect(await rejection(waiting)).toBeInstanceOf(CallerGone);
    expect(await sockets[0]?.closed).toEqual({ code: 1000, reason: "the caller went away" });
    expect(await rejection(socket.next())).toBeInstanceOf(CallerGone);
    expect(() => socket.send("late")).toThrow(CallerGone);
    expect(logs.lines()).toEqual([]);
  });

  it("messages not read when the caller left are dropped", async () => {
    const { sockets } = fakeSocketUpstream();
    const caller = new AbortController();
    const socket = await listen(caller.signal);
    sockets[0]?.server.send("never read");
    await sleep(10);
    caller.abort();
    expect(await rejection(socket.next())).toBeInstanceOf(CallerGone);
  });

  it("during the upgrade: the request is aborted and the call raises CallerGone", async () => {
    const { sent } = fakeSocketUpstream(noAnswer);
    const caller = new AbortController();
    const opening = listen(caller.signal);
    await sleep(20);
    caller.abort();
    expect(await rejection(opening)).toBeInstanceOf(CallerGone);
    expect(sent[0]?.signal?.aborted).toBe(true);
  });
});
