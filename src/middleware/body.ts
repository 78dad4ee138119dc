import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { concat } from "../lib/bytes";
import { ApiError } from "../lib/errors";
import type { RouteTable } from "./route-table";

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

const MIB = 1024 * 1024;
const tooLarge = (limit: number) =>
  new ApiError("request.too_large", `The request body exceeds ${limit % MIB === 0 ? `${limit / MIB} MiB` : `${limit} bytes`}.`);

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
 * For a route that streams its body to storage (which takes a stream of known length only): a body
 * without a Content-Length is read to its end, thrown away (see `discardRest`), and refused.
 */
export async function refuseUnsized(req: Request): Promise<void> {
  if (req.headers.get("content-length") !== null && !req.headers.has("transfer-encoding")) return;
  if (req.body) await discardRest(req.body.getReader(), 0);
  throw new ApiError("request.length_required", "Send the file with a Content-Length header (curl -T and fetch with a Blob or an ArrayBuffer do).");
}

/**
 * Before authentication or dispatch: a body over its route's limit (1 MiB unless the route declares
 * more, looked up in the route table) is refused, by its Content-Length or, when it
 * is streamed without one, by reading it: up to the limit kept, past it read to the end and discarded
 * (see `discardRest`), then refused.
 *
 * A declared length over the limit is refused at once without reading any of it: the client said how
 * much it will send, an `Expect: 100-continue` client then never uploads it, and the runtime closes
 * that connection itself. A body that is never started does not leave the proxy half-way (measured
 * under `wrangler dev`: the next requests are unaffected, test/node/body-limit.test.ts); one that was
 * started must be finished.
 */
export const bodyLimitFor = (routes: RouteTable) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const raw = c.req.raw;
    if (!hasBody(raw) || raw.body === null) return next();
    // A route that takes uploads declares its own limit (`POST /v1/stt`: 25 MiB); every other one gets 1 MiB.
    const policy = routes.reached(raw.method, c.req.path);
    const limit = policy.maxBodyBytes ?? MAX_BODY_BYTES;
    const length = raw.headers.get("content-length");
    if (length !== null && !raw.headers.has("transfer-encoding")) {
      if (Number(length) > limit) throw tooLarge(limit);
      return next();
    }
    // Its handler streams it, and refuses it without a length (`refuseUnsized`): buffering it is what streaming avoids.
    if (policy.streamedBody) return next();
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await discardRest(reader, size);
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
    c.req.raw = new Request(raw, { body: concat(...chunks) });
    await next();
  });
