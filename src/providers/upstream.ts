import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ApiError } from "../lib/errors";

/**
 * Calling an upstream provider with bounded waits and typed failures. Every provider goes through
 * here, so the rules are the same for all of them:
 * - no response within `firstByteTimeoutMs`: `503 provider.timeout`;
 * - cannot connect, or an answer that cannot be read: `503 provider.unavailable`;
 * - 429: `429 provider.rate_limited`, with the upstream's `Retry-After` when it gave one;
 * - 400, 413, 422 (the request itself was refused): `400 provider.rejected`, with the upstream's
 *   explanation after credentials, URLs and host names are removed from it;
 * - anything else (401, 403, 404, 5xx, ...): `503 provider.unavailable`; the detail goes to the log.
 * Messages name the provider, never its credentials, base URL or host.
 */

export interface UpstreamCall {
  /** Short provider name for messages: "openai", "anthropic", ... */
  provider: string;
  url: string;
  init: RequestInit;
  firstByteTimeoutMs: number;
  /** The caller's signal: aborting it cancels the request, and later its body. */
  signal: AbortSignal;
  /** Values that must never appear in anything echoed back (the API key). */
  secrets: readonly (string | undefined)[];
  /** Picks the human explanation out of the provider's error body. */
  errorMessage?: (body: unknown) => string | undefined;
}

/** Raised when the caller's own signal aborted the call: nobody is waiting for an answer. */
export class CallerGone extends Error {
  constructor() {
    super("the caller went away");
    this.name = "CallerGone";
  }
}

const timeoutError = (provider: string) =>
  new ApiError("provider.timeout", `${provider} did not answer in time; try again, or another model.`);
export const unavailable = (provider: string, why = "could not be reached") =>
  new ApiError("provider.unavailable", `${provider} ${why}; try again shortly.`);

const MAX_ERROR_BODY_BYTES = 16 * 1024;
const MAX_ECHOED_MESSAGE = 500;

/** Removes credentials, URLs and host names from an upstream's message before it is echoed. */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, "[redacted]");
  return out
    .replace(/\bhttps?:\/\/\S+/gi, "[url]")
    .replace(/\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|dev|cloud|app|co)\b/gi, "[host]")
    .replace(/\b(?:sk|gsk|xi|key|sk-ant|sk-proj)[-_][A-Za-z0-9_*-]{6,}/g, "[redacted]")
    .replace(/\b[A-Za-z0-9_-]{32,}\b/g, "[redacted]")
    .slice(0, MAX_ECHOED_MESSAGE);
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

async function readBounded(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const decoder = new TextDecoder();
  return chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
}

async function errorFor(call: UpstreamCall, res: Response): Promise<ApiError> {
  let body: unknown;
  const text = await readBounded(res, MAX_ERROR_BODY_BYTES).catch(() => "");
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status === 429) {
    const seconds = retryAfterSeconds(res.headers);
    return new ApiError(
      "provider.rate_limited",
      `${call.provider} is rate limiting this deployment${seconds === undefined ? "" : `; retry in ${seconds} s`}.`,
      { headers: seconds === undefined ? {} : { "Retry-After": String(seconds) } },
    );
  }
  if (res.status === 400 || res.status === 413 || res.status === 422) {
    const detail = call.errorMessage?.(body);
    return new ApiError("provider.rejected", `${call.provider} refused the request${detail ? `: ${redact(detail, call.secrets)}` : "."}`);
  }
  return unavailable(call.provider, `answered ${res.status}`);
}

/**
 * Sends the request and waits for the upstream's answer (its status and headers), no longer than
 * the first-byte timeout. A non-2xx answer is thrown as the typed error above. The returned
 * response's body stays tied to `call.signal`: aborting it cancels the body too.
 */
export async function callUpstream(call: UpstreamCall): Promise<Response> {
  if (call.signal.aborted) throw new CallerGone();
  const controller = new AbortController();
  const onAbort = () => controller.abort(new CallerGone());
  call.signal.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error("first-byte timeout"));
  }, call.firstByteTimeoutMs);
  let res: Response;
  try {
    res = await fetch(call.url, { ...call.init, signal: controller.signal, redirect: "manual" });
  } catch {
    call.signal.removeEventListener("abort", onAbort);
    if (timedOut) throw timeoutError(call.provider);
    if (call.signal.aborted) throw new CallerGone();
    throw unavailable(call.provider);
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) {
    call.signal.removeEventListener("abort", onAbort);
    throw await errorFor(call, res);
  }
  return res;
}

/** The whole JSON body of a successful answer; unreadable or not JSON is `provider.unavailable`. */
export async function readJson(provider: string, res: Response, idleTimeoutMs: number): Promise<unknown> {
  const timer = setTimeout(() => void res.body?.cancel().catch(() => {}), idleTimeoutMs);
  try {
    return await res.json();
  } catch {
    throw unavailable(provider, "answered a body that could not be read");
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The server-sent events of a successful answer, parsed with eventsource-parser as they arrive.
 * A gap longer than `idleTimeoutMs` is `provider.timeout`, a broken connection
 * `provider.unavailable`; stopping early (return/throw in the consumer) cancels the upstream body.
 */
export async function* serverSentEvents(provider: string, res: Response, idleTimeoutMs: number): AsyncGenerator<EventSourceMessage> {
  if (!res.body) throw unavailable(provider, "answered without a body");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => queue.push(event) });
  let finished = false;
  try {
    for (;;) {
      let timer: number | null = null;
      const idle = new Promise<"idle">((resolve) => {
        timer = setTimeout(() => resolve("idle"), idleTimeoutMs);
      });
      let next: ReadableStreamReadResult<Uint8Array> | "idle";
      try {
        next = await Promise.race([reader.read(), idle]);
      } catch (err) {
        if (err instanceof CallerGone) throw err;
        throw unavailable(provider, "broke off the stream");
      } finally {
        clearTimeout(timer);
      }
      if (next === "idle") throw timeoutError(provider);
      if (next.done) break;
      parser.feed(decoder.decode(next.value, { stream: true }));
      while (queue.length > 0) {
        const event = queue.shift();
        if (event) yield event;
      }
    }
    parser.feed(`${decoder.decode()}\n\n`);
    for (const event of queue) yield event;
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}
