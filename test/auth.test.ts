import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "./helpers/auth";
import { api, expectError, KEYS } from "./helpers/http";

const call = (authorization: string | null) =>
  api("/v1/avatars/av_demo", { key: null, headers: authorization === null ? {} : { Authorization: authorization } });

describe("API-key authentication", () => {
  it("accepts each seeded key", async () => {
    for (const key of Object.values(KEYS)) expect((await call(`Bearer ${key}`)).status).toBe(200);
    expect((await call(`bearer  ${KEYS.demo}`)).status).toBe(200);
  });

  it("no Authorization header is api_key.missing", async () => {
    await expectError(await call(null), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await call(""), 401, { type: "authentication", code: "api_key.missing" });
  });

  it("a malformed header or key is api_key.invalid", async () => {
    for (const header of [
      `Basic ${btoa("user:pass")}`,
      "Bearer",
      KEYS.demo,
      "Bearer av_test_short",
      "Bearer av_prod_demo00000000000000000000000000000000",
      "Bearer av_test_demo0000000000000000000000000000000!",
      `Bearer ${KEYS.demo} extra`,
    ]) {
      await expectError(await call(header), 401, { type: "authentication", code: "api_key.invalid" });
    }
  });

  it("a well-formed key nobody issued is api_key.invalid", async () => {
    await expectError(await call("Bearer av_live_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"), 401, { type: "authentication", code: "api_key.invalid" });
  });

  it("a revoked key is api_key.revoked", async () => {
    const secret = "av_test_revokedkey000000000000000000000000";
    await env.DB.prepare(
      "INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at, revoked_at) VALUES (?, 'org_demo', 'old', 'test', ?, 'av_test_revo', '0000', 1, 2)",
    )
      .bind("key_revoked_fixture", await sha256Hex(secret))
      .run();
    await expectError(await call(`Bearer ${secret}`), 401, { type: "authentication", code: "api_key.revoked" });
  });

  it("never echoes the key back", async () => {
    const res = await call("Bearer av_live_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    expect(await res.text()).not.toContain("ZZZZZZZZ");
  });
});
