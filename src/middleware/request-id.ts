import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { newId } from "../lib/ids";

/**
 * First middleware: mints `req_<ULID>` and stamps it on whatever response comes back, errors and
 * 404s included (the header is set after `next()` so responses built with `new Response` get it too).
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = newId("req");
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});
