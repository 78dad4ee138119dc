import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { ApiError } from "../src/lib/errors";
import { defineRoute } from "../src/routes/define-route";
import { mountedRoutes } from "../src/routes/mounted-routes";
import { BASE, expectError } from "./helpers/http";

/**
 * Each app's route table is built from what that app mounted: a route's access kind and error codes
 * come from its definition, and a route mounted without one (a plain page) gets the strictest
 * reading, whatever other modules define.
 */

afterEach(() => vi.restoreAllMocks());

const ALLOWED = "https://app.example";
const restricted = { ...env, CORS_ALLOWED_ORIGINS: ALLOWED };

async function send(app: ReturnType<typeof createApp>, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, init), restricted, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const preflight = (app: ReturnType<typeof createApp>, path: string, origin: string) =>
  send(app, path, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "GET" } });

/** Public, but defined here only: it counts in an app that mounts it and nowhere else. */
const publicPage = defineRoute("public", {
  method: "get",
  path: "/test/page",
  operationId: "testPage",
  responses: { 200: { description: "a page" } },
});

describe("the route table", () => {
  it("holds every route createApp mounts, each with the access kind and codes of its definition", () => {
    const mounted = mountedRoutes(createApp());
    expect(mounted.length).toBeGreaterThan(8);
    for (const route of mounted) expect(route.policy, `${route.method} ${route.path}`).toBeDefined();
    const policy = (method: string, path: string) => mounted.find((r) => r.method === method && r.path === path)?.policy;
    expect(policy("GET", "/health")?.access).toBe("unmetered");
    expect(policy("GET", "/v1/avatars/:avatar_id/model/file")?.access).toBe("public");
    expect(policy("GET", "/v1/avatars/:avatar_id")?.access).toBe("api_key");
    expect(policy("GET", "/v1/avatars/:avatar_id")?.codes.has("avatar.not_found")).toBe(true);
    expect(policy("GET", "/v1/avatars")?.codes.has("avatar.not_found")).toBe(false);
    expect(mounted.some((r) => r.path === publicPage.path)).toBe(false);
  });

  describe("a route mounted without a definition", () => {
    const app = createApp();
    app.get("/test/page", (c) => c.html("<p>a page</p>"));
    app.get("/test/broken-page", () => {
      throw new ApiError("avatar.not_found", "no code this page declared");
    });

    it("allows only the configured origins, although a public route of the same path is defined elsewhere", async () => {
      const page = await send(app, "/test/page", { headers: { Origin: "https://evil.example" } });
      expect(page.status).toBe(200);
      expect(page.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect(page.headers.get("Vary")).toContain("Origin");
      const listed = await send(app, "/test/page", { headers: { Origin: ALLOWED } });
      expect(listed.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
      expect((await preflight(app, "/test/page", "https://evil.example")).headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect((await preflight(app, "/test/page", ALLOWED)).headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    });

    it("has declared no error code beyond the global ones (STRICT_ERROR_CODES is on in tests)", async () => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      const error = await expectError(await send(app, "/test/broken-page"), 500, { type: "internal", code: "internal" });
      expect(error.message).toContain("avatar.not_found");
    });

    it("leaves the app's own routes as their definitions say", async () => {
      const docs = await send(app, "/v1/openapi.json", { headers: { Origin: "https://evil.example" } });
      expect(docs.headers.get("Access-Control-Allow-Origin")).toBe("*");
      expect((await preflight(app, "/v1/avatars", "https://evil.example")).headers.get("Access-Control-Allow-Origin")).toBeNull();
    });
  });

  it("a definition counts in the app that mounts it, after createApp() returns too", async () => {
    const app = createApp();
    app.openapi(publicPage, (c) => c.html("<p>a public page</p>", 200));
    const page = await send(app, "/test/page", { headers: { Origin: "https://evil.example" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect((await preflight(app, "/test/page", "https://evil.example")).headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
