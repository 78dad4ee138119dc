import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { newId } from "../lib/ids";
import { createLogger } from "../lib/logger";
import { withHeaders } from "../lib/responses";
import { ServerTiming } from "../lib/server-timing";
import type { Cors } from "./cors";
import { rateLimitHeaders } from "./rate-limit";

/** On every response: they cost nothing and close off content sniffing and referrer leaks. */
const SECURITY_HEADERS: [string, string][] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
];

/**
 * First middleware: mints `req_<ULID>` and a logger that carries it, and decorates whatever
 * response comes back — errors, 404s, proxied upstream answers and WebSocket upgrades included —
 * with the request id, `Server-Timing`, the rate-limit headers of this request, the security headers and CORS, in
 * one pass (Hono copies a response each time a middleware replaces it). CORS is the app's own
 * (`corsFor` its route table), hence one of these per app.
 */
export const requestId = (cors: Pick<Cors, "headers">) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const id = newId("req");
    c.set("requestId", id);
    c.set("log", createLogger({ request_id: id }));
    const timing = new ServerTiming();
    c.set("timing", timing);
    await next();
    const limited = c.get("rateLimit");
    const decorated = withHeaders(c.res, [
      ["X-Request-Id", id],
      ["Server-Timing", timing.header()],
      ...SECURITY_HEADERS,
      ...(limited ? Object.entries(rateLimitHeaders(limited)) : []),
      ...cors.headers(c),
    ]);
    // Assigning c.res copies the response again; only needed when it had to be rebuilt.
    if (decorated !== c.res) c.res = decorated;
  });
