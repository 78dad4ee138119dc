import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { withHeaders } from "../src/lib/responses";
import { defineRoute } from "../src/routes/define-route";
import { freshOrg } from "./helpers/auth";
import { api, BASE, expectError, KEYS } from "./helpers/http";

/**
 * The request id, rate-limit and security headers go on every response, including the kinds whose
 * headers are immutable (a proxied fetch, a redirect, a static asset) and WebSocket upgrades, which
 * must keep their socket.
 */

const REQ_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The app plus routes that answer the awkward kinds of response, each behind an API key. */
function appWithAwkwardRoutes() {
  const app = createApp();
  const route = (path: string) =>
    defineRoute("api_key", { method: "get", path, operationId: `test${path.replaceAll(/\W/g, "")}`, responses: { 200: { description: "test" } } });
  app.openapi(route("/test/proxied"), async () => exports.default.fetch(new Request(`${BASE}/health`)));
  app.openapi(route("/test/redirect"), () => Response.redirect(`${BASE}/health`, 302));
  app.openapi(route("/test/upgrade"), () => {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    server.accept();
    server.addEventListener("message", (e) => server.send(`echo:${String(e.data)}`));
    return new Response(null, { status: 101, webSocket: client });
  });
  return app;
}

async function call(app: ReturnType<typeof createApp>, path: string, key: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { headers: { Authorization: `Bearer ${key}`, ...headers } }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("headers on responses whose own headers are immutable", () => {
  it("a response proxied from another fetch() keeps its body and gains our headers", async () => {
    const upstream = await exports.default.fetch(new Request(`${BASE}/health`));
    expect(() => upstream.headers.set("X-Probe", "1")).toThrow(TypeError);

    const org = await freshOrg("pro");
    const res = await call(appWithAwkwardRoutes(), "/test/proxied", org.key);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Request-Id")).toMatch(REQ_ID);
    expect(res.headers.get("X-RateLimit-Limit")).toBe("60");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it("a Response.redirect() keeps its status and Location", async () => {
    const org = await freshOrg("pro");
    const res = await call(appWithAwkwardRoutes(), "/test/redirect", org.key);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`${BASE}/health`);
    expect(res.headers.get("X-Request-Id")).toMatch(REQ_ID);
    expect(res.headers.get("X-RateLimit-Remaining")).toBe("59");
  });

  it("a 101 upgrade keeps its WebSocket, which still talks", async () => {
    const org = await freshOrg("pro");
    const res = await call(appWithAwkwardRoutes(), "/test/upgrade", org.key, { Upgrade: "websocket" });
    expect(res.status).toBe(101);
    expect(res.headers.get("X-Request-Id")).toMatch(REQ_ID);
    expect(res.headers.get("X-RateLimit-Limit")).toBe("60");
    const socket = res.webSocket;
    expect(socket).not.toBeNull();
    socket?.accept();
    const reply = new Promise<string>((resolve) => socket?.addEventListener("message", (e) => resolve(String(e.data))));
    socket?.send("ping");
    expect(await reply).toBe("echo:ping");
    socket?.close(1000);
  });
});

describe("withHeaders", () => {
  // The app's own middleware happens to hand it mutable copies today (Hono rebuilds a returned
  // Response once a middleware has touched c.res); these cases do not depend on that.
  it("rebuilds a fetched response, whose headers are immutable, around the same body", async () => {
    const fetched = await exports.default.fetch(new Request(`${BASE}/health`));
    expect(() => fetched.headers.set("X-Probe", "1")).toThrow(TypeError);
    const out = withHeaders(fetched, [["X-Probe", "1"]]);
    expect(out).not.toBe(fetched);
    expect(out.headers.get("X-Probe")).toBe("1");
    expect(out.headers.get("Content-Type")).toBe("application/json");
    expect(await out.json()).toMatchObject({ status: "ok" });
  });

  it("rebuilds a redirect, keeping status and Location", () => {
    const out = withHeaders(Response.redirect(`${BASE}/x`, 307), [["X-Probe", "1"]]);
    expect(out.status).toBe(307);
    expect(out.headers.get("Location")).toBe(`${BASE}/x`);
    expect(out.headers.get("X-Probe")).toBe("1");
  });

  it("sets headers in place when it can, and keeps a 101's socket when it cannot", () => {
    const plain = new Response("x");
    expect(withHeaders(plain, [["X-Probe", "1"]])).toBe(plain);
    const [client] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    // A Durable Object's upgrade answer arrives with immutable headers; stand one in.
    const upgrade = new Response(null, { status: 101, webSocket: client, headers: { "X-Upstream": "kept" } });
    Object.defineProperty(upgrade, "headers", { value: lockedHeaders(upgrade.headers) });
    const out = withHeaders(upgrade, [["X-Probe", "1"]]);
    expect(out.headers.get("X-Upstream")).toBe("kept");
    expect(out.status).toBe(101);
    expect(out.webSocket).toBe(client);
    expect(out.headers.get("X-Probe")).toBe("1");
  });
});

/** Headers that refuse changes the way a fetched response's do. */
function lockedHeaders(source: Headers): Headers {
  const copy = new Headers(source);
  copy.set = () => {
    throw new TypeError("Can't modify immutable headers.");
  };
  return copy;
}

describe("security headers", () => {
  it("every response is nosniff and sends no referrer, errors included", async () => {
    for (const res of [await api("/health", { key: null }), await api("/v1/avatars"), await api("/nowhere"), await api("/v1/avatars", { key: null })]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });

  it("/docs forbids inline scripts and framing, and loads nothing from elsewhere", async () => {
    const res = await api("/docs", { key: null });
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>[^<]/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets.map((a) => a.split("?")[0])).toEqual([
      "/docs/assets/favicon-32x32.png",
      "/docs/assets/swagger-ui.css",
      "/docs/assets/swagger-ui-bundle.js",
      "/docs/assets/swagger-init.js",
    ]);
    for (const asset of assets) {
      const file = await api(asset, { key: null });
      expect(file.status, asset).toBe(200);
      expect(file.headers.get("X-Request-Id"), asset).toMatch(REQ_ID);
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    const bundle = await api(assets[2] ?? "", { key: null });
    expect(bundle.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain("SwaggerUIBundle");
    expect(await (await api(assets[3] ?? "", { key: null })).text()).toContain('getElementById("swagger-ui")');
  });

  it("an unknown docs asset is the 404 envelope", async () => {
    await expectError(await api("/docs/assets/nope.js", { key: null }), 404, { type: "not_found", code: "route.not_found" });
  });
});

describe("Server-Timing", () => {
  const ENTRY = /^[a-z]+;dur=\d+\.\d(;desc="\w+")?$/;
  const entries = (res: Response) => (res.headers.get("Server-Timing") ?? "").split(", ");

  it("is on every response, errors and 404s included, ending with app and total", async () => {
    for (const res of [
      await api("/health", { key: null }),
      await api("/v1/nowhere"),
      await api("/v1/avatars", { key: "av_test_nope" }),
      await api("/v1/avatars"),
    ]) {
      const list = entries(res);
      for (const entry of list) expect(entry).toMatch(ENTRY);
      expect(list.at(-2)).toMatch(/^app;/);
      expect(list.at(-1)).toMatch(/^total;/);
    }
  });

  it("names auth (db or cache), limit (ask or lease) and the route's reads (db) on authenticated requests", async () => {
    const list = entries(await api("/v1/avatars"));
    expect(list.find((e) => e.startsWith("auth;"))).toMatch(/desc="(db|cache)"/);
    expect(list.find((e) => e.startsWith("limit;"))).toMatch(/desc="(ask|lease)"/);
    expect(list.find((e) => e.startsWith("db;"))).toMatch(/^db;dur=\d+\.\d$/);
  });
});

describe("CORS", () => {
  const preflight = (path: string, method: string, origin = "https://app.example") =>
    api(path, {
      method: "OPTIONS",
      key: null,
      headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization, content-type" },
    });

  it("answers preflights 204 before authentication and limits", async () => {
    const free = await freshOrg("free");
    for (let i = 0; i < 10; i++) await api("/v1/avatars", { key: free.key });
    for (const [path, method] of [
      ["/v1/avatars", "GET"],
      ["/v1/api-keys", "POST"],
      ["/v1/avatars/av_demo/favorite", "PUT"],
      ["/docs", "GET"],
    ] as const) {
      const res = await preflight(path, method);
      expect(res.status, path).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin"), path).toBe("*");
      expect(res.headers.get("Access-Control-Allow-Methods"), path).toContain(method);
      expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase(), path).toContain("authorization");
      expect(res.headers.get("Access-Control-Allow-Credentials"), path).toBeNull();
      expect(res.headers.get("X-Request-Id"), path).toMatch(REQ_ID);
      expect(res.headers.get("X-RateLimit-Limit"), path).toBeNull();
    }
  });

  it("allows the request headers a browser client asks for: SDK headers, Range, If-None-Match", async () => {
    const ask = (path: string, method: string, headers?: string) =>
      api(path, {
        method: "OPTIONS",
        key: null,
        headers: { Origin: "https://app.example", "Access-Control-Request-Method": method, ...(headers ? { "Access-Control-Request-Headers": headers } : {}) },
      });
    // What the OpenAI SDK's browser build sends on a chat completion (dangerouslyAllowBrowser).
    const sdk = "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-retry-count";
    const chat = await ask("/v1/ai/chat/completions", "POST", sdk);
    expect(chat.status).toBe(204);
    expect(
      chat.headers
        .get("Access-Control-Allow-Headers")
        ?.split(",")
        .map((h) => h.trim()),
    ).toEqual(sdk.split(","));
    const download = await ask("/v1/avatars/av_demo/model/file", "GET", "range,if-none-match");
    expect(download.headers.get("Access-Control-Allow-Headers")).toBe("range, if-none-match");
    // Nothing named, or a list that is not a list of header names: the default pair.
    expect((await ask("/v1/avatars", "GET")).headers.get("Access-Control-Allow-Headers")).toBe("Authorization, Content-Type");
    expect((await ask("/v1/avatars", "GET", "authorization, bad header")).headers.get("Access-Control-Allow-Headers")).toBe("Authorization, Content-Type");
  });

  it("exposes the request id, the rate-limit headers and Retry-After to scripts", async () => {
    const res = await api("/v1/avatars", { headers: { Origin: "https://app.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const exposed = (res.headers.get("Access-Control-Expose-Headers") ?? "").split(",").map((h) => h.trim().toLowerCase());
    for (const name of [
      "x-request-id",
      "server-timing",
      "x-ratelimit-limit",
      "x-ratelimit-remaining",
      "x-ratelimit-reset",
      "ratelimit",
      "ratelimit-policy",
      "retry-after",
    ]) {
      expect(exposed).toContain(name);
    }
  });

  describe("with CORS_ALLOWED_ORIGINS set", () => {
    const app = createApp();
    const restricted = { ...env, CORS_ALLOWED_ORIGINS: "https://app.example, https://admin.example" };
    const send = async (path: string, init: RequestInit) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`${BASE}${path}`, init), restricted, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };

    it("authenticated routes allow only the listed origins", async () => {
      const allowed = await send("/v1/avatars", { headers: { Origin: "https://admin.example", Authorization: `Bearer ${KEYS.demo}` } });
      expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example");
      expect(allowed.headers.get("Vary")).toContain("Origin");
      const other = await send("/v1/avatars", { headers: { Origin: "https://evil.example", Authorization: `Bearer ${KEYS.demo}` } });
      expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
      const pre = await send("/v1/avatars", { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("Access-Control-Allow-Origin")).toBeNull();
    });

    it("public routes and signed downloads stay readable from any origin", async () => {
      const docs = await send("/v1/openapi.json", { headers: { Origin: "https://evil.example" } });
      expect(docs.headers.get("Access-Control-Allow-Origin")).toBe("*");
      const model = (await (await api("/v1/avatars/av_demo/model")).json()) as { url: string };
      const file = await send(new URL(model.url).pathname + new URL(model.url).search, { headers: { Origin: "https://evil.example" } });
      expect(file.status).toBe(200);
      expect(file.headers.get("Access-Control-Allow-Origin")).toBe("*");
      const pre = await send("/v1/avatars/av_demo/model/file", {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" },
      });
      expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("*");
    });
  });
});
