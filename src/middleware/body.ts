import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

export const MAX_BODY_BYTES = 1024 * 1024;

// RFC 9110 gives a body on GET or HEAD no meaning: it is ignored, never read or rebuilt.
const IGNORES_BODY = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether a request carries a body anyone should look at. */
export const hasBody = (req: Request) => !IGNORES_BODY.has(req.method) && req.body !== null && req.headers.get("content-length") !== "0";

const tooLarge = () => new ApiError("request.too_large", "The request body exceeds 1 MiB.");

/**
 * Before authentication or routing: a body over 1 MiB is refused, by its Content-Length or, when it
 * is streamed without one, by reading it up to the limit and no further.
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
      await reader.cancel();
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
