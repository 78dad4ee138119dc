import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * How much of an oversized streamed body is read and thrown away before the 413 goes out. Cloudflare
 * itself refuses bodies over the zone plan's limit (100 MB on Free and Pro), so in production the
 * stream rarely gets this far; the cap keeps any runtime from draining an endless stream forever.
 */
export const MAX_DISCARDED_BYTES = 100 * 1024 * 1024;

// RFC 9110 gives a body on GET or HEAD no meaning: it is ignored, never read or rebuilt.
const IGNORES_BODY = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether a request carries a body anyone should look at. */
export const hasBody = (req: Request) => !IGNORES_BODY.has(req.method) && req.body !== null && req.headers.get("content-length") !== "0";

const tooLarge = () => new ApiError("request.too_large", "The request body exceeds 1 MiB.");

/**
 * Reads the rest of a body to its end and throws it away (nothing is kept), so that the response goes
 * out after the whole request has arrived. Why not cancel the reader: a response sent while the
 * request body is half read breaks whatever forwards the request to this Worker with workerd's fetch()
 * (cloudflare/workerd#1741, cloudflare/workers-sdk#5095: cancelling does not help, draining does).
 * `wrangler dev` (`npm start`) puts such a proxy in front of every request: after a 2 MiB upload
 * answered half-read, the next request of any client stalled until yet another one arrived, or got
 * the proxy's plain-text 503 "Your worker restarted mid-request" if a reload came in between; a Worker
 * forwarding with fetch() saw its next fetch fail with "Network connection lost". Served directly,
 * the runtime closed the connection with the upload unread, and a client still writing got a reset
 * instead of the 413. In production a Worker calling this API through fetch() is the same kind of
 * proxy. Draining costs the client nothing it was not sending anyway, and keeps its connection
 * usable (keep-alive). Past `MAX_DISCARDED_BYTES` the stream is cancelled after all.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number) {
  let read = alreadyRead;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > MAX_DISCARDED_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client stopped sending (disconnect, reset): there is no one left to answer.
  }
}

/**
 * Before authentication or routing: a body over 1 MiB is refused, by its Content-Length or, when it
 * is streamed without one, by reading it: up to the limit kept, past it read to the end and discarded
 * (see `discardRest`), then refused.
 *
 * A declared length over the limit is refused at once without reading any of it: the client said how
 * much it will send, an `Expect: 100-continue` client then never uploads it, and the runtime closes
 * that connection itself. A body that is never started does not leave the proxy half-way (measured
 * under `wrangler dev`: the next requests are unaffected, test/node/body-limit.test.ts); one that was
 * started must be finished.
 */
export const bodyLimit = createMiddleware<AppEnv>(async (c, next) => {
  const raw = c.req.raw;
  if (!hasBody(raw) || raw.body === null) return next();
  const length = raw.headers.get("content-length");
  if (length !== null && !raw.headers.has("transfer-encoding")) {
    if (Number(length) > MAX_BODY_BYTES) throw tooLarge();
    return next();
  }
  const reader = raw.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await discardRest(reader, size);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  c.req.raw = new Request(raw, { body });
  await next();
});
