import { readFileSync } from "node:fs";
import { request } from "node:http";
import { describe, expect, inject, it } from "vitest";

const base = new URL(inject("apiUrl"));
const KEY = "av_test_demo00000000000000000000000000000000";

/** A raw HTTP/1.1 exchange, for what fetch() refuses to send (a body on GET). */
function raw(method: string, path: string, headers: Record<string, string>, chunks: string[]) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    // A connection per exchange: a server may close one whose request body it did not read.
    const req = request(
      { host: base.hostname, port: base.port, method, path, agent: false, headers: { "Transfer-Encoding": "chunked", ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("a GET with a chunked body (curl -X GET -H 'Transfer-Encoding: chunked' -d '{}')", () => {
  for (const [path, auth] of [
    ["/v1/health", false],
    ["/health", false],
    ["/v1/openapi.json", false],
    ["/v1/avatars", true],
    ["/v1/avatars/av_demo", true],
  ] as const) {
    it(`${path} ignores the body and answers 200`, async () => {
      const res = await raw("GET", path, { "Content-Type": "application/x-www-form-urlencoded", ...(auth ? { Authorization: `Bearer ${KEY}` } : {}) }, ["{}"]);
      expect(res.status, res.body.slice(0, 200)).toBe(200);
      expect(res.headers["x-request-id"]).toMatch(/^req_/);
    });
  }

  it("a HEAD with a chunked body is answered like GET without a body", async () => {
    const res = await raw("HEAD", "/v1/health", {}, ["{}"]);
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
  });

  it("a chunked POST over 1 MiB is 413 request.too_large", async () => {
    const res = await raw(
      "POST",
      "/v1/avatars",
      { "Content-Type": "application/json" },
      Array.from({ length: 20 }, () => "x".repeat(64 * 1024)),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: "invalid_request", code: "request.too_large" } });
  });
});

describe("/docs works offline", () => {
  it("serves Swagger UI itself, gzipped, byte for byte the pinned package's files", async () => {
    const html = await (await fetch(new URL("/docs", base))).text();
    const bundleUrl = /src="(\/docs\/assets\/swagger-ui-bundle\.js[^"]*)"/.exec(html)?.[1];
    expect(bundleUrl).toBeDefined();
    const res = await fetch(new URL(bundleUrl ?? "", base), { headers: { "Accept-Encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const served = Buffer.from(await res.arrayBuffer());
    const pinned = readFileSync(new URL("../../node_modules/swagger-ui-dist/swagger-ui-bundle.js", import.meta.url));
    expect(served.equals(pinned)).toBe(true);
  });
});
