import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { type Config, getConfig } from "../../src/config";
import { ApiError, type ErrorCode } from "../../src/lib/errors";
import { createLogger } from "../../src/lib/logger";
import type { ProviderContext } from "../../src/providers/context";

/**
 * The one fake-upstream harness of the provider tests. Outbound fetch is intercepted, so every
 * byte a provider sends and every byte it reads is the test's: `fakeUpstream` records the requests
 * and answers them, `trickle` makes bodies that arrive piece by piece (and stall, break or get
 * cancelled), `fakeSocketUpstream` accepts WebSocket upgrades whose server side the test drives.
 * `watchLogs` captures what is logged and fails a test whose log names a credential.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Deployments and contexts

const deployments = new Map<string, Config>();

/** This runtime's settings with `settings` on top; each distinct deployment is built once (getConfig caches per env object). */
export function deployment(settings: Record<string, string>): Config {
  const id = JSON.stringify(settings);
  let config = deployments.get(id);
  if (!config) {
    config = getConfig({ ...env, ...settings });
    deployments.set(id, config);
  }
  return config;
}

export const providerContext = (config: Config, signal = new AbortController().signal): ProviderContext => ({ signal, config, log: createLogger() });

// ---------------------------------------------------------------------------------------------
// The upstream, over fetch

/** A request as the upstream saw it. */
export interface Sent {
  url: string;
  method: string;
  headers: Headers;
  /** The JSON object sent; `{}` for a request without a body (a GET). */
  body: Record<string, unknown>;
  signal: AbortSignal | undefined;
}

function sentOf(input: RequestInfo | URL, init: RequestInit | undefined): Sent {
  let body: unknown = {};
  if (init?.body !== undefined && init.body !== null) {
    body = JSON.parse(String(init.body));
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("the provider sent a body that is not a JSON object");
  }
  return {
    url: input instanceof Request ? input.url : String(input),
    method: init?.method ?? "GET",
    headers: new Headers(init?.headers),
    body: body as Record<string, unknown>,
    signal: init?.signal ?? undefined,
  };
}

/** Intercepts fetch; `answer` plays the upstream, told which request (0, 1, ...) this is. Returns the requests as it saw them. */
export function fakeUpstream(answer: (sent: Sent, index: number) => Response | Promise<Response>): Sent[] {
  const sent: Sent[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const seen = sentOf(input, init);
    sent.push(seen);
    return answer(seen, sent.length - 1);
  });
  return sent;
}

/** An upstream that cannot be reached: fetch fails with `error` (whose text may name the key and host). */
export const unreachable = (error: Error) => vi.spyOn(globalThis, "fetch").mockRejectedValue(error);

/** An upstream that never answers; like a real fetch, aborting the request rejects it. */
export const noAnswer = (sent: Sent) =>
  new Promise<Response>((_resolve, reject) => {
    sent.signal?.addEventListener("abort", () => reject(sent.signal?.reason));
  });

export const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

// ---------------------------------------------------------------------------------------------
// Bodies

/** Bytes (or text, sent as UTF-8) to send; a promise to wait for first (the upstream pausing); an error to break the body with. */
export type Step = Uint8Array | string | Promise<unknown> | Error;

export interface TrickleOptions {
  /** A pause before each step. */
  pauseMs?: number;
  /** The request's signal: like a real fetch, aborting it errors the body. */
  signal?: AbortSignal | undefined;
  /** `hang` keeps the body open after the last step (an upstream that stalls). */
  end?: "close" | "hang";
  /**
   * Produce a step only when the reader asks for one (nothing is buffered ahead, as a paused
   * network read), rather than as fast as the steps come.
   */
  onRead?: boolean;
}

export interface FakeBody {
  body: ReadableStream<Uint8Array>;
  /** Chunks handed to the network so far. */
  enqueued: () => number;
  /** Whether the body got to its end and closed. */
  closed: () => boolean;
  /** Whether the reader cancelled the body. */
  cancelled: () => boolean;
}

const encoder = new TextEncoder();

/** A body written step by step, as an upstream streams while it generates. */
export function trickle(steps: readonly Step[], options: TrickleOptions = {}): FakeBody {
  let enqueued = 0;
  let closed = false;
  let cancelled = false;
  let errored = false;
  let next = 0;
  const stopped = () => cancelled || errored || options.signal?.aborted === true;
  /** Ends the body after its last step, unless it hangs: a last chunk and the end arrive together. */
  const ending = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (next < steps.length || options.end === "hang" || stopped()) return false;
    closed = true;
    controller.close();
    return true;
  };
  /** Takes steps until one sends or breaks something, or the steps end; false once nothing more will come. */
  async function step(controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    if (ending(controller)) return false;
    for (;;) {
      if (options.pauseMs) await sleep(options.pauseMs);
      if (stopped()) return false;
      const current = steps[next++];
      if (current === undefined) return false; // only a hanging body gets here
      if (current instanceof Promise) {
        await current;
        if (ending(controller)) return false;
        continue;
      }
      if (current instanceof Error) {
        errored = true;
        controller.error(current);
        return false;
      }
      // A copy: the consumer must get bytes equal to these, not these very buffers.
      controller.enqueue(typeof current === "string" ? encoder.encode(current) : current.slice());
      enqueued++;
      return !ending(controller);
    }
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        options.signal?.addEventListener("abort", () => {
          errored = true;
          controller.error(options.signal?.reason);
        });
        if (options.onRead) return;
        void (async () => {
          while (await step(controller));
        })().catch(() => {
          // The reader errored or cancelled the stream: nobody is listening any more.
        });
      },
      async pull(controller) {
        if (!options.onRead) return;
        // A step that sends nothing (the end of a hanging body) leaves the read waiting for good.
        if (!(await step(controller).catch(() => false)) && !closed && !errored) await new Promise(() => {});
      },
      cancel() {
        cancelled = true;
      },
    },
    // Nothing is produced before it is read, so an answer nobody reads yet waits like a paused network read.
    options.onRead ? { highWaterMark: 0 } : undefined,
  );
  return { body, enqueued: () => enqueued, closed: () => closed, cancelled: () => cancelled };
}

// ---------------------------------------------------------------------------------------------
// The upstream, over a WebSocket

/** The upstream's end of one socket, driven by the test. */
export interface FakeSocket {
  /** The upgrade request as the upstream saw it. */
  sent: Sent;
  /** The upstream's side: `send` to the provider, `close` with a code. */
  server: WebSocket;
  /** What the provider sent, in order. */
  received: (string | Uint8Array)[];
  /** Settles with the close code and reason the provider's side closed with. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the provider has sent `count` messages in all. */
  receivedCount: (count: number) => Promise<void>;
}

/**
 * Intercepts fetch as a WebSocket upstream: an upgrade request is answered `101` with one end of
 * a `WebSocketPair` (the Workers way), the other end handed to the test; `answer` may give any
 * other response instead (a refusal, a hang). Returns the sockets, in the order they were opened.
 */
export function fakeSocketUpstream(answer?: (sent: Sent) => Response | Promise<Response> | undefined): { sent: Sent[]; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  const sent = fakeUpstream(async (seen) => {
    const other = await answer?.(seen);
    if (other) return other;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    // Binary frames as bytes, not as Blobs (the runtime's default), so they can be compared at once.
    server.binaryType = "arraybuffer";
    server.accept();
    const received: (string | Uint8Array)[] = [];
    const waiting: { count: number; resolve: () => void }[] = [];
    server.addEventListener("message", (event) => {
      received.push(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer));
      for (const wait of waiting.filter((w) => received.length >= w.count)) wait.resolve();
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      server.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
    });
    const receivedCount = (count: number) => (received.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve })));
    sockets.push({ sent: seen, server, received, closed, receivedCount });
    return new Response(null, { status: 101, webSocket: client });
  });
  return { sent, sockets };
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/** What a promise rejects with; a promise that resolves fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

/**
 * The checks of a typed error that may reach a client: `expectApiError(error, code)` and
 * `apiErrorOf(promise, code)` assert an ApiError of `code` whose message names none of `secrets`
 * (keys, hosts), in any case.
 */
export function typedErrors(secrets: readonly string[]) {
  const expectApiError = (error: unknown, code: ErrorCode): ApiError => {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.code).toBe(code);
    for (const secret of secrets) expect(apiError.message.toLowerCase()).not.toContain(secret.toLowerCase());
    return apiError;
  };
  const apiErrorOf = async (promise: Promise<unknown>, code: ErrorCode): Promise<ApiError> => expectApiError(await rejection(promise), code);
  return { expectApiError, apiErrorOf };
}

/** Every item of an iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Every item of an iterable until it throws, and what it threw. */
export async function drain<T>(items: AsyncIterable<T>): Promise<{ events: T[]; error: unknown }> {
  const events: T[] = [];
  try {
    for await (const item of items) events.push(item);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

// ---------------------------------------------------------------------------------------------
// Logs

export interface Logs {
  /** Every warning logged in this test, in order (log lines are JSON). */
  lines: () => string[];
  /** The `detail` of the "upstream refused" line: what the provider's errorMessage picked out of the body. */
  refusedDetail: () => unknown;
}

/**
 * Captures warnings (upstream failures are logged as warnings) for each test of the file, keeps
 * them off the console, and fails the test if any names one of `secrets`, whatever happened.
 */
export function watchLogs(secrets: readonly string[]): Logs {
  let lines: string[] = [];
  const original = console.warn;
  beforeEach(() => {
    lines = [];
    console.warn = (...parts: unknown[]) => {
      lines.push(parts.map(String).join(" "));
    };
  });
  afterEach(() => {
    console.warn = original;
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
  return {
    lines: () => lines,
    refusedDetail: () => {
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.message === "upstream refused") return entry.detail;
      }
      return "no upstream refused line";
    },
  };
}
