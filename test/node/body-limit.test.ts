import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

/**
 * A body over 1 MiB streamed without a length is answered 413 without harming what comes after it:
 * the same keep-alive connection's next request, a new connection's, several at once. Under
 * `wrangler dev` every request passes wrangler's proxy (workerd's fetch()) before the Worker; a 413
 * sent while the upload was half read used to leave that proxy's connection to the Worker mid-upload,
 * and the next request of any client stalled (see src/middleware/body.ts).
 */

const KEY = "av_test_demo00000000000000000000000000000000";
const MiB = 1024 * 1024;
/** Every exchange answers within this, or the test fails saying which one did not. */
const ANSWER_MS = 5000;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether the request went out on a kept-alive connection of the agent. */
  reusedSocket: boolean;
}

/** One HTTP/1.1 exchange over a real socket, the body written as the given chunks. */
function send(base: URL, method: string, path: string, opts: { headers?: Record<string, string>; chunks?: string[]; agent: Agent | false }) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method, path, agent: opts.agent, headers: opts.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket }));
      res.on("error", reject);
    });
    req.setTimeout(ANSWER_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${ANSWER_MS} ms`)));
    req.on("error", reject);
    for (const chunk of opts.chunks ?? []) req.write(chunk);
    req.end();
  });
}

const json = (a: Answer) => JSON.parse(a.body) as Record<string, unknown>;

function expectOk(a: Answer, what: string) {
  expect(a.status, `${what}: ${a.body.slice(0, 300)}`).toBe(200);
  expect(a.headers["x-request-id"], what).toMatch(/^req_/);
}

/** The 2 MiB streamed upload, then the requests that used to suffer from it. */
async function oversizedThenNext(base: URL, path: string) {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const chunks = Array.from({ length: 32 }, () => "x".repeat(64 * 1024));
    const tooLarge = await send(base, "POST", path, {
      agent: keepAlive,
      headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" },
      chunks,
    });
    expect(tooLarge.status, tooLarge.body.slice(0, 300)).toBe(413);
    const { error } = json(tooLarge) as { error: { type: string; code: string; request_id: string } };
    expect(error).toMatchObject({ type: "invalid_request", code: "request.too_large" });
    expect(error.request_id).toMatch(/^req_/);
    expect(tooLarge.headers["x-request-id"]).toBe(error.request_id);

    // The same connection: the upload was read to its end, so the connection stays usable.
    const same = await send(base, "GET", "/health", { agent: keepAlive });
    expectOk(same, "GET /health on the same connection");
    expect(same.reusedSocket, "the 413's connection was kept alive").toBe(true);
    expect(json(same)).toMatchObject({ status: "ok" });

    // Another client, on a new connection, then several at once.
    const auth = { Authorization: `Bearer ${KEY}` };
    const fresh = await send(base, "GET", "/v1/avatars", { agent: false, headers: auth });
    expectOk(fresh, "GET /v1/avatars on a new connection");
    expect(json(fresh)).toMatchObject({ object: "list" });
    const parallel = await Promise.all([
      send(base, "GET", "/health", { agent: false }),
      send(base, "GET", "/v1/avatars/av_demo", { agent: false, headers: auth }),
      send(base, "GET", "/v1/avatars", { agent: false, headers: auth }),
    ]);
    for (const [i, a] of parallel.entries()) expectOk(a, `parallel request ${i + 1}`);
    expect(json(parallel[1] as Answer)).toMatchObject({ id: "av_demo", object: "avatar" });
  } finally {
    keepAlive.destroy();
  }
}

describe("the bundle served by Miniflare", () => {
  it("a chunked body over 1 MiB is 413 request.too_large, and the next requests, same connection or not, answer normally", async () => {
    await oversizedThenNext(new URL(inject("apiUrl")), "/v1/api-keys");
  }, 30_000);
});

describe("wrangler dev, as `npm start` runs it", () => {
  let dev: WranglerDev | undefined;
  beforeAll(async () => {
    dev = await startWranglerDev();
  }, 90_000);
  afterAll(async () => {
    await dev?.stop();
  }, 15_000);

  /** On failure, what wrangler printed (its proxy's errors are there). */
  const withOutput = async (run: (base: URL) => Promise<void>) => {
    if (!dev) throw new Error("wrangler dev did not start");
    try {
      await run(dev.url);
    } catch (e) {
      if (e instanceof Error) e.message += `\n--- wrangler dev output (last 3000 characters) ---\n${dev.output().slice(-3000)}`;
      throw e;
    }
  };

  it("a chunked body over 1 MiB is 413 request.too_large, and the next requests, same connection or not, answer normally", async () => {
    await withOutput(async (base) => {
      await oversizedThenNext(base, "/v1/conversations");
      // And again: the first one left nothing behind.
      await oversizedThenNext(base, "/v1/api-keys");
    });
  }, 30_000);

  it("a declared Content-Length over 1 MiB is 413 at once, unread, and the next requests answer normally", async () => {
    await withOutput(async (base) => {
      const body = "x".repeat(2 * MiB);
      const tooLarge = await send(base, "POST", "/v1/conversations", {
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": String(body.length) },
        chunks: [body],
      });
      expect(tooLarge.status).toBe(413);
      expect(json(tooLarge)).toMatchObject({ error: { code: "request.too_large", request_id: tooLarge.headers["x-request-id"] } });
      const next = await Promise.all([send(base, "GET", "/health", { agent: false }), send(base, "GET", "/health", { agent: false })]);
      for (const [i, a] of next.entries()) expectOk(a, `request ${i + 1} after it`);
    });
  }, 30_000);
});
