import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { SETTING_NAMES } from "../src/config";
import { ApiError } from "../src/lib/errors";
import { defineRoute } from "../src/routes/define-route";
import { userJwt } from "./helpers/auth";
import { BASE, expectError, KEYS } from "./helpers/http";

afterEach(() => vi.restoreAllMocks());

// One env object per distinct settings: to config.ts a new env object is a new deployment (parsed
// afresh), and in production an isolate keeps its env.
const deployments = new Map<string, typeof env>();
const deployment = (settings: Record<string, string>) => {
  const id = JSON.stringify(settings);
  let found = deployments.get(id);
  if (!found) {
    found = { ...env, ...settings };
    deployments.set(id, found);
  }
  return found;
};

async function send(app: ReturnType<typeof createApp>, settings: Record<string, string>, path: string, key: string | null = KEYS.demo) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = key === null ? {} : { Authorization: `Bearer ${key}` };
  const res = await app.fetch(new Request(`${BASE}${path}`, { headers }), deployment(settings), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("settings", () => {
  it(".dev.vars.example documents exactly the settings config.ts reads", () => {
    expect([...env.TEST_DOCUMENTED_SETTINGS].sort()).toEqual([...SETTING_NAMES].sort());
  });

  it("a missing secret is logged once at start and answers 503 config.secret_missing where it is needed", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const app = createApp();
    const settings = { ASSET_SIGNING_SECRET: "" };
    const res = await send(app, settings, "/v1/avatars/av_demo/model");
    const error = await expectError(res, 503, { type: "service_unavailable", code: "config.secret_missing" });
    expect(error.message).toContain("ASSET_SIGNING_SECRET");
    // Routes that do not need it keep working.
    expect((await send(app, settings, "/v1/avatars/av_demo")).status).toBe(200);
    const logged = log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("missing secrets"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("ASSET_SIGNING_SECRET");
  });

  it("key management without JWT_SECRET or a JWKS answers 503 config.secret_missing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await send(createApp(), { JWT_SECRET: "" }, "/v1/api-keys", await userJwt());
    await expectError(res, 503, { type: "service_unavailable", code: "config.secret_missing" });
  });

  it("an invalid setting answers every request 503 config.invalid and says which in the log", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const app = createApp();
    for (const path of ["/v1/avatars", "/health"]) {
      await expectError(await send(app, { MODEL_URL_TTL_SECONDS: "soon" }, path), 503, { type: "service_unavailable", code: "config.invalid" });
    }
    expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toContain("MODEL_URL_TTL_SECONDS");
  });

  it("an empty value means unset: the default applies", async () => {
    const res = await send(createApp(), { MODEL_URL_TTL_SECONDS: "", PUBLIC_BASE_URL: "" }, "/v1/avatars/av_demo/model");
    const model = (await res.json()) as { url: string };
    expect(new URL(model.url).origin).toBe(BASE);
    expect(Number(new URL(model.url).searchParams.get("expires")) - Math.floor(Date.now() / 1000)).toBeGreaterThanOrEqual(899);
  });
});

describe("the strict error-code check (tests only)", () => {
  const app = createApp();
  app.openapi(
    defineRoute("api_key", {
      method: "get",
      path: "/test/undeclared",
      operationId: "testUndeclared",
      responses: { 200: { description: "never" } },
      errors: ["avatar.not_found"],
    }),
    () => {
      throw new ApiError("persona.read_only", "a code this route never declared");
    },
  );
  app.openapi(
    defineRoute("api_key", {
      method: "get",
      path: "/test/declared",
      operationId: "testDeclared",
      responses: { 200: { description: "never" } },
      errors: ["avatar.not_found"],
    }),
    () => {
      throw new ApiError("avatar.not_found", "declared");
    },
  );

  it("turns an undeclared code into a 500 naming it, so the test that provoked it fails", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await send(app, { STRICT_ERROR_CODES: "on" }, "/test/undeclared");
    const error = await expectError(res, 500, { type: "internal", code: "internal" });
    expect(error.message).toContain("persona.read_only");
    await expectError(await send(app, { STRICT_ERROR_CODES: "on" }, "/test/declared"), 404, { type: "not_found", code: "avatar.not_found" });
  });

  it("is off by default, as in production", async () => {
    await expectError(await send(app, { STRICT_ERROR_CODES: "" }, "/test/undeclared"), 403, { type: "permission", code: "persona.read_only" });
  });
});
