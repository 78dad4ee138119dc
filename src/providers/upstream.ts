import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { parseJson } from "./json";

/**
 * Calling an upstream provider with bounded waits and typed failures. Every provider goes through
 * here, so the rules are the same for all of them:
 * - no response within `firstByteTimeoutMs`: `503 provider.timeout`;
 * - a body that goes quiet for `idleTimeoutMs`: `503 provider.timeout` (streams too);
 * - cannot connect, a broken body, or one that cannot be read: `503 provider.unavailable`;
 * - 429: `429 provider.rate_limited`, with the upstream's `Retry-After` when it gave one;
 * - 400, 413, 422 (the request itself was refused): `400 provider.rejected`;
 * - anything else (401, 403, 404, 5xx, 529, ...): `503 provider.unavailable`, with `Retry-After`
 *   when the upstream gave one.
 * A client's message is a fixed text per upstream status (`clientMessage`), naming the provider by
 * its short name, never its credentials, base URL or host, plus the upstream's machine error code
 * when it gave one that is a plain token (`upstreamCode`). The upstream's own words (its message,
 * its body, an exception's text) never reach a client: they go to the log, redacted. When the caller's signal
 * aborts (a client that went away, an interrupt), reads stop at once with `CallerGone`, which is
 * nobody's failure and is not logged. Outbound WebSockets keep the same rules (upstream-socket.ts
 * connects through `answerOf`), and providers reach both through provider-call.ts.
 */

/** Who is called and how its refusals are read: the part every kind of upstream call shares. */
export interface UpstreamRules {
  /** Short provider name for messages: "openai", "anthropic", ... */
  provider: string;
  /** The caller's signal: aborting it cancels the call, and later whatever it opened. */
  signal: AbortSignal;
  /** Values that must never appear in anything echoed back (the API key); the URL's host is added. */
  secrets: readonly (string | undefined)[];
  /** Picks the human explanation out of the provider's error body; it is logged, never echoed. */
  errorMessage?: ((body: unknown) => string | undefined) | undefined;
  /**
   * Picks the provider's machine error code out of its error body (`error.code`, `detail.status`,
   * `err_code`...); it is echoed only when `upstreamCode` accepts it.
   */
  errorCode?: ((body: unknown) => string | undefined) | undefined;
  /** What the call names, for a 404's message: "model", "voice". */
  subject?: string | undefined;
  log: Logger;
}

export interface UpstreamCall extends UpstreamRules {
  url: string;
  init: RequestInit;
  firstByteTimeoutMs: number;
  /** The longest a body may go without sending anything. */
  idleTimeoutMs: number;
}

/** Raised when the caller's own signal aborted the call: nobody is waiting for an answer. */
export class CallerGone extends Error {
  constructor() {
    super("the caller went away");
    this.name = "CallerGone";
  }
}

export const timeoutError = (provider: string) => new ApiError("provider.timeout", `${provider} did not answer in time; try again, or another model.`);
export const unavailable = (provider: string, why = "could not be reached") => new ApiError("provider.unavailable", `${provider} ${why}; try again shortly.`);

const MAX_ERROR_BODY_BYTES = 16 * 1024;
/** An error answer's body gets this long at most: the status alone already decides the outcome. */
const ERROR_BODY_TIMEOUT_MS = 3_000;
const MAX_LOGGED_MESSAGE = 500;
/**
 * What is still read of a body after its answer is complete (see `drainRest`): the bytes left
 * after a stream's last event are a few (the chunked encoding's end), so these bounds only stop an
 * upstream that keeps a finished stream open or keeps writing.
 */
const DRAIN_MS = 1_000;
const DRAIN_MAX_BYTES = 64 * 1024;

/**
 * Removes credentials, URLs and host names from an upstream's message before it is logged. A
 * blocklist misses things (a private address, an internal host under an unlisted suffix), which is
 * why nothing it passes is ever shown to a client.
 */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, "[redacted]");
  return out
    .replace(/\bhttps?:\/\/\S+/gi, "[url]")
    .replace(/\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|dev|cloud|app|co|internal|local|test)\b/gi, "[host]")
    .replace(/\b(?:sk|gsk|xi|key|sk-ant|sk-proj)[-_][A-Za-z0-9_*-]{6,}/g, "[redacted]")
    .replace(/\b[A-Za-z0-9_-]{32,}\b/g, "[redacted]")
    .slice(0, MAX_LOGGED_MESSAGE);
}

/**
 * A machine error code as upstreams name them (`context_length_exceeded`, `overloaded_error`,
 * `INVALID_AUTH`): a letter, then letters, digits, `_` and `-`, at most 64 in all. No dots, colons or
 * slashes, so no host name, address, port or URL fits; nothing credential-like (`redact` would
 * change it) and none of the call's secrets. Anything else is not echoed.
 */
const UPSTREAM_CODE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** The upstream's code when it is safe to show a client (see UPSTREAM_CODE), else undefined. */
export function upstreamCode(value: unknown, secrets: readonly (string | undefined)[]): string | undefined {
  if (typeof value !== "string" || !UPSTREAM_CODE.test(value)) return undefined;
  return redact(value, secrets) === value ? value : undefined;
}

/** ` (upstream code: <code>)`, or nothing without a code. */
export const codeNote = (code: string | undefined) => (code === undefined ? "" : ` (upstream code: ${code})`);

/** The parenthesis of a status-bearing message: `(HTTP 503)`, `(HTTP 503, upstream code: x)`. */
const statusNote = (status: number, code: string | undefined) => ` (HTTP ${status}${code === undefined ? "" : `, upstream code: ${code}`})`;

/**
 * What a client is told when an upstream answered `status`: a fixed text per status, the provider's
 * short name, and the upstream's code when it is a safe token. Never the upstream's own words.
 */
export function clientMessage(
  provider: string,
  status: number,
  code: string | undefined,
  options: { subject?: string | undefined; retryAfter?: number | undefined } = {},
): string {
  const later = "; try again shortly.";
  const operator = "; the operator of this deployment must check its account there.";
  switch (status) {
    case 400:
      return `${provider} refused the request as invalid${codeNote(code)}.`;
    case 413:
      return `${provider} refused the request as too large${codeNote(code)}.`;
    case 422:
      return `${provider} refused the request as unprocessable${codeNote(code)}.`;
    case 429:
      return `${provider} is rate limiting this deployment${codeNote(code)}${options.retryAfter === undefined ? "" : `; retry in ${options.retryAfter} s`}.`;
    case 401:
      return `${provider} did not accept this deployment's credentials${statusNote(status, code)}${operator}`;
    case 402:
      return `${provider} refused this deployment for billing reasons${statusNote(status, code)}${operator}`;
    case 403:
      return `${provider} denied this deployment access${statusNote(status, code)}${operator}`;
    case 404:
      return `${provider} does not know the requested ${options.subject ?? "resource"}${statusNote(status, code)}; use another.`;
    case 408:
    case 504:
    case 524:
      return `${provider} timed out${statusNote(status, code)}${later}`;
    case 503:
      return `${provider} is temporarily unavailable${statusNote(status, code)}${later}`;
    case 529:
      return `${provider} is overloaded${statusNote(status, code)}${later}`;
    default:
      return status >= 500
        ? `${provider} failed with a server error${statusNote(status, code)}${later}`
        : `${provider} answered unexpectedly${statusNote(status, code)}${later}`;
  }
}

/** `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, as whole seconds, at least 1. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return Math.max(1, Math.ceil(ms / 1000));
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(1, Math.ceil((date - now) / 1000));
}

/**
 * The next chunk of a body, waiting no longer than `idleTimeoutMs` and no longer than the caller
 * is there. The one primitive every read below is built on.
 */
async function readChunk(
  provider: string,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleTimeoutMs: number,
  signal: AbortSignal,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal.aborted) throw new CallerGone();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let onAbort: (() => void) | undefined;
  const idle = new Promise<"idle">((resolve) => {
    timer = setTimeout(() => resolve("idle"), idleTimeoutMs);
  });
  const gone = new Promise<"gone">((resolve) => {
    onAbort = () => resolve("gone");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const next = await Promise.race([reader.read(), idle, gone]);
    if (next === "gone") throw new CallerGone();
    if (next === "idle") throw timeoutError(provider);
    return next;
  } catch (err) {
    if (err instanceof ApiError || err instanceof CallerGone) throw err;
    if (signal.aborted) throw new CallerGone();
    throw unavailable(provider, "broke off its answer");
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Reads a whole body within the limits, then releases it. */
async function readAll(provider: string, res: Response, idleTimeoutMs: number, signal: AbortSignal, maxBytes = Number.POSITIVE_INFINITY) {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await readChunk(provider, reader, idleTimeoutMs, signal);
      if (done) return text + decoder.decode();
      size += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
    return text;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The typed error of an answer that was not the one asked for (a status other than 2xx, or 101 for
 * a socket), its body read within bounds for the log. The status decides; the body only explains.
 */
async function errorFor(call: UpstreamRules, res: Response, secrets: readonly (string | undefined)[]): Promise<ApiError> {
  const text = await readAll(call.provider, res, ERROR_BODY_TIMEOUT_MS, call.signal, MAX_ERROR_BODY_BYTES).catch((err: unknown) => {
    if (err instanceof CallerGone) throw err;
    return "";
  });
  const body = parseJson(text);
  const detail = call.errorMessage?.(body);
  const rawCode = call.errorCode?.(body);
  const code = upstreamCode(rawCode, secrets);
  const seconds = retryAfterSeconds(res.headers);
  const retryAfter: Record<string, string> = seconds === undefined ? {} : { "Retry-After": String(seconds) };
  // The upstream's own words are for the operator, here and nowhere else.
  call.log.warn("upstream refused", {
    provider: call.provider,
    status: res.status,
    detail: detail === undefined ? undefined : redact(detail, secrets),
    upstream_code: typeof rawCode === "string" ? redact(rawCode, secrets).slice(0, 200) : undefined,
    upstream_request_id: res.headers.get("request-id") ?? res.headers.get("x-request-id") ?? res.headers.get("dg-request-id") ?? undefined,
  });
  const message = clientMessage(call.provider, res.status, code, { subject: call.subject, retryAfter: seconds });
  if (res.status === 429) return new ApiError("provider.rate_limited", message, { headers: retryAfter });
  if (res.status === 400 || res.status === 413 || res.status === 422) return new ApiError("provider.rejected", message);
  return new ApiError("provider.unavailable", message, { headers: retryAfter });
}

/** A successful upstream answer, read within the call's limits (idle timeout, caller's signal). */
export class UpstreamResponse {
  /** Releases the body through the reader an iterator holds, once one was taken. */
  private release: (() => Promise<void>) | undefined;

  constructor(
    readonly provider: string,
    readonly response: Response,
    private readonly idleTimeoutMs: number,
    private readonly signal: AbortSignal,
    /** Lets go of the caller's signal once the body is done with (a conversation's signal lives long). */
    private readonly detach: () => void = () => {},
  ) {}

  get headers(): Headers {
    return this.response.headers;
  }

  /** The whole body as JSON; unreadable or not JSON is `provider.unavailable`. */
  async json(): Promise<unknown> {
    const body = parseJson(await readAll(this.provider, this.response, this.idleTimeoutMs, this.signal).finally(this.detach));
    if (body === undefined) throw unavailable(this.provider, "answered a body that could not be read");
    return body;
  }

  /**
   * The body's server-sent events, parsed with eventsource-parser as they arrive. The reader is
   * taken at once, so `return()` releases the body even before the first event was asked for.
   * `last` recognises the event that completes the answer (OpenAI's `[DONE]`, Anthropic's
   * `message_stop`): the iterator ends after it, and the rest of the body is read in the
   * background rather than cancelled, so the connection can serve the next request (`drainRest`).
   */
  events(last?: (event: EventSourceMessage) => boolean): AsyncIterableIterator<EventSourceMessage> {
    return this.iterate((feed) => {
      let complete = false;
      const parser = createParser({
        onEvent: (event) => {
          if (complete) return;
          feed.push(event);
          complete = last?.(event) ?? false;
        },
      });
      const decoder = new TextDecoder();
      return {
        chunk: (bytes) => parser.feed(decoder.decode(bytes, { stream: true })),
        end: () => parser.feed(`${decoder.decode()}\n\n`),
        complete: () => complete,
      };
    });
  }

  /** The body's raw chunks as they arrive (audio, NDJSON), within the same limits. */
  chunks(): AsyncIterableIterator<Uint8Array> {
    return this.iterate((feed) => ({ chunk: (bytes) => feed.push(bytes), end: () => {} }));
  }

  /** Gives the body up (the caller no longer wants it). */
  async cancel(): Promise<void> {
    if (this.release) await this.release();
    else await this.response.body?.cancel().catch(() => {});
    this.detach();
  }

  private iterate<T>(decode: (feed: T[]) => { chunk: (bytes: Uint8Array) => void; end: () => void; complete?: () => boolean }): AsyncIterableIterator<T> {
    const { provider, idleTimeoutMs, signal } = this;
    const body = this.response.body;
    if (!body) throw unavailable(provider, "answered without a body");
    const reader = body.getReader();
    const queue: T[] = [];
    const decoder = decode(queue);
    let finished = false;
    const detach = this.detach;
    const release = async () => {
      if (finished) return;
      finished = true;
      detach();
      await reader.cancel().catch(() => {});
    };
    this.release = release;
    const iterator: AsyncIterableIterator<T> = {
      async next() {
        try {
          while (queue.length === 0 && !finished) {
            const { done, value } = await readChunk(provider, reader, idleTimeoutMs, signal);
            if (done) {
              decoder.end();
              finished = true;
              detach();
            } else {
              decoder.chunk(value);
              if (decoder.complete?.()) {
                finished = true;
                detach();
                drainRest(reader);
              }
            }
          }
        } catch (err) {
          await release();
          throw err;
        }
        const value = queue.shift();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      async return() {
        await release();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/**
 * Reads, in the background, what is left of a body whose answer is already complete. A body read
 * to its end puts its connection back in the runtime's pool; a cancelled one closes it, and the
 * next turn's request would wait for a new connection (a TCP and TLS handshake to a real
 * upstream; ~2 ms even on loopback, bench stage "frame to the model's request"). Bounded by
 * DRAIN_MS and DRAIN_MAX_BYTES, after which the body is cancelled after all; nobody waits for it.
 */
function drainRest(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  const cancel = () => reader.cancel().catch(() => {});
  const timer = setTimeout(cancel, DRAIN_MS);
  const drain = async () => {
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > DRAIN_MAX_BYTES) return cancel();
    }
  };
  drain()
    .catch(() => {})
    .finally(() => clearTimeout(timer));
}

/** An upstream's answer whose status was the one asked for, still tied to the caller's signal. */
export interface Answer {
  response: Response;
  /** The call's secrets with the URL's host: what must never be echoed, nor logged unredacted. */
  secrets: readonly (string | undefined)[];
  /** Lets go of the caller's signal (a conversation's signal lives long). */
  detach: () => void;
}

/**
 * Sends the request and waits for the upstream's answer (its status and headers), no longer than
 * the first-byte timeout. An answer `accepts` refuses is thrown as the typed error above. Until
 * `detach`, aborting the caller's signal aborts the request, and with it the body of its answer.
 */
export async function answerOf(call: Omit<UpstreamCall, "idleTimeoutMs">, accepts: (res: Response) => boolean): Promise<Answer> {
  if (call.signal.aborted) throw new CallerGone();
  const secrets = [...call.secrets, new URL(call.url).host];
  const controller = new AbortController();
  const onAbort = () => controller.abort(new CallerGone());
  call.signal.addEventListener("abort", onAbort, { once: true });
  const detach = () => call.signal.removeEventListener("abort", onAbort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error("first-byte timeout"));
  }, call.firstByteTimeoutMs);
  let res: Response;
  try {
    res = await fetch(call.url, { ...call.init, signal: controller.signal, redirect: "manual" });
  } catch (err) {
    detach();
    if (call.signal.aborted) throw new CallerGone();
    if (timedOut) {
      call.log.warn("upstream timed out", { provider: call.provider, after_ms: call.firstByteTimeoutMs });
      throw timeoutError(call.provider);
    }
    call.log.warn("upstream unreachable", { provider: call.provider, error: redact(String(err), secrets) });
    throw unavailable(call.provider);
  } finally {
    clearTimeout(timer);
  }
  if (!accepts(res)) {
    try {
      throw await errorFor(call, res, secrets);
    } finally {
      detach();
    }
  }
  return { response: res, secrets, detach };
}

/**
 * Sends the request and waits for a 2xx answer (see `answerOf`). The body of the returned answer
 * stays tied to `call.signal`: aborting it cancels the upstream.
 */
export async function callUpstream(call: UpstreamCall): Promise<UpstreamResponse> {
  const { response, detach } = await answerOf(call, (res) => res.ok);
  return new UpstreamResponse(call.provider, response, call.idleTimeoutMs, call.signal, detach);
}

/**
 * For a provider's own generator over one or more upstream streams: a generator that was never
 * started, or is paused before it read its upstream, cannot release it in its `finally`, so a
 * consumer that gives up would leave the upstream open. `return()` here always releases (the
 * upstream, or whatever `release` stops); releasing twice is harmless.
 */
export function releasingEarly<T>(events: AsyncGenerator<T>, release: UpstreamResponse | (() => Promise<void>)): AsyncIterableIterator<T> {
  const stop = typeof release === "function" ? release : () => release.cancel();
  const iterator: AsyncIterableIterator<T> = {
    next: () => events.next(),
    return: async () => {
      await stop();
      await events.return(undefined);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
