import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { z } from "@hono/zod-openapi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { defineRoute } from "../src/routes/define-route";
import { CLIENT_SECRET_TTL_SECONDS, mintClientSecret } from "../src/services/client-secrets";
import { BASE, expectError, KEYS } from "./helpers/http";

/**
 * The credential kind a conversation's WebSocket accepts: an API key, or the conversation's client
 * secret in `?token=`, which opens that conversation and no other.
 */

afterEach(() => vi.useRealTimers());

const app = createApp();
app.openapi(
  defineRoute("client_secret", {
    method: "get",
    path: "/test/conversations/{conversation_id}/ws",
    operationId: "testConnect",
    request: {
      params: z.object({ conversation_id: z.string() }),
      query: z.strictObject({ token: z.string().optional() }),
    },
    responses: { 200: { description: "who is calling" } },
  }),
  (c) => c.json({ org: c.var.auth.org.id, conversation: c.var.auth.conversationId ?? null, key: c.var.auth.key?.keyId ?? null }, 200),
);

async function open(conversationId: string, opts: { token?: string; key?: string } = {}) {
  const ctx = createExecutionContext();
  const url = new URL(`${BASE}/test/conversations/${conversationId}/ws`);
  if (opts.token !== undefined) url.searchParams.set("token", opts.token);
  const res = await app.fetch(new Request(url, { headers: opts.key ? { Authorization: `Bearer ${opts.key}` } : {} }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const mint = (conversationId: string, orgId = "org_demo", secret = env.ASSET_SIGNING_SECRET) =>
  mintClientSecret(secret, { conversationId, orgId, keyId: undefined }, Date.now());

describe("client secrets", () => {
  it("open the conversation they were issued for, as its org", async () => {
    const { value, expiresAtMs } = await mint("conv_A");
    expect(value).toMatch(/^cs_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(expiresAtMs - Date.now()).toBeGreaterThan((CLIENT_SECRET_TTL_SECONDS - 2) * 1000);
    const res = await open("conv_A", { token: value });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ org: "org_demo", conversation: "conv_A", key: null });
    expect(res.headers.get("X-RateLimit-Limit")).toBe("100000");
  });

  it("cannot open another conversation", async () => {
    const { value } = await mint("conv_A");
    const error = await expectError(await open("conv_B", { token: value }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
    expect(error.message).toContain("another conversation");
  });

  it("stop working after ten minutes", async () => {
    const { value } = await mint("conv_A");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + CLIENT_SECRET_TTL_SECONDS * 1000 + 1000);
    const error = await expectError(await open("conv_A", { token: value }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
    expect(error.message).toContain("expired");
  });

  it("are refused when tampered with, signed with another secret, or not client secrets at all", async () => {
    const { value } = await mint("conv_A");
    const [payload, signature] = value.slice(3).split(".");
    const forgedPayload = btoa(JSON.stringify({ c: "conv_A", o: "org_other", e: 4102444800 })).replaceAll("=", "");
    const foreign = (await mint("conv_A", "org_demo", "another-deployment's-secret")).value;
    for (const token of [`cs_${forgedPayload}.${signature}`, `cs_${payload}.${"A".repeat(43)}`, foreign, "cs_", "nonsense", "x".repeat(5000), KEYS.demo]) {
      await expectError(await open("conv_A", { token }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
    }
  });

  it("an org that no longer exists cannot use its old secrets", async () => {
    const { value } = await mint("conv_A", "org_gone");
    await expectError(await open("conv_A", { token: value }), 401, { type: "authentication", code: "client_secret.invalid", param: "token" });
  });

  it("an API key works in their place, and with neither the key is missing", async () => {
    const res = await open("conv_A", { key: KEYS.other });
    expect(await res.json()).toEqual({ org: "org_other", conversation: null, key: "key_other" });
    await expectError(await open("conv_A"), 401, { type: "authentication", code: "api_key.missing" });
  });
});
