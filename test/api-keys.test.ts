import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { userJwt } from "./helpers/auth";
import { api, expectError } from "./helpers/http";

interface ApiKey {
  id: string;
  object: "api_key";
  name: string;
  mode: "live" | "test";
  prefix: string;
  last4: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  secret?: string;
}
interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

const KEY_FIELDS = ["id", "object", "name", "mode", "prefix", "last4", "created_at", "last_used_at", "revoked_at", "quotas"];

const asUser = async (org = "org_demo") => ({ key: await userJwt({ org_id: org }) });

const create = async (body: unknown, org = "org_demo") => {
  const res = await api("/v1/api-keys", {
    method: "POST",
    ...(await asUser(org)),
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return res;
};

const list = async (query = "", org = "org_demo") => {
  const res = await api(`/v1/api-keys${query}`, await asUser(org));
  expect(res.status).toBe(200);
  return (await res.json()) as List<ApiKey>;
};

describe("API key lifecycle", () => {
  it("create → use → list shows last_used_at → revoke → 401 api_key.revoked", async () => {
    const created = await create({ name: "Backend", mode: "live" });
    expect(created.status).toBe(201);
    const key = (await created.json()) as ApiKey;
    expect(Object.keys(key)).toEqual([...KEY_FIELDS, "secret"]);
    expect(key).toMatchObject({ object: "api_key", name: "Backend", mode: "live", last_used_at: null, revoked_at: null });
    expect(key.id).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(key.secret).toMatch(/^av_live_[A-Za-z0-9]{40}$/);
    expect(key.prefix).toBe(key.secret?.slice(0, 12));
    expect(key.last4).toBe(key.secret?.slice(-4));
    const secret = key.secret ?? "";

    const used = await api("/v1/avatars/av_demo", { key: secret });
    expect(used.status).toBe(200);

    await vi.waitFor(
      async () => {
        const listed = (await list()).data.find((k) => k.id === key.id);
        expect(listed?.last_used_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      },
      { timeout: 3000, interval: 50 },
    );

    const revoked = await api(`/v1/api-keys/${key.id}`, { method: "DELETE", ...(await asUser()) });
    expect(revoked.status).toBe(200);
    const record = (await revoked.json()) as ApiKey;
    expect(Object.keys(record)).toEqual(KEY_FIELDS);
    expect(record.revoked_at).toMatch(/Z$/);

    // The key was cached by this isolate when it was used: revocation must still apply at once.
    await expectError(await api("/v1/avatars/av_demo", { key: secret }), 401, { type: "authentication", code: "api_key.revoked" });

    const again = await api(`/v1/api-keys/${key.id}`, { method: "DELETE", ...(await asUser()) });
    expect(again.status).toBe(200);
    expect(((await again.json()) as ApiKey).revoked_at).toBe(record.revoked_at);
  });

  it("with only a name creates a live key (mode defaults to live)", async () => {
    const res = await create({ name: "Just a name" });
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const key = (await res.json()) as ApiKey;
    expect(key).toMatchObject({ name: "Just a name", mode: "live" });
    expect(key.secret).toMatch(/^av_live_[A-Za-z0-9]{40}$/);
  });

  it("accepts names in any script, emoji included", async () => {
    const res = await create({ name: "Équipe 東京 🚀" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as ApiKey).name).toBe("Équipe 東京 🚀");
  });

  it("creates test keys too, and trims names", async () => {
    const res = await create({ name: "  CI  ", mode: "test" });
    expect(res.status).toBe(201);
    const key = (await res.json()) as ApiKey;
    expect(key.name).toBe("CI");
    expect(key.secret).toMatch(/^av_test_[A-Za-z0-9]{40}$/);
    expect((await api("/v1/avatars", { key: key.secret ?? "" })).status).toBe(200);
  });

  it("never shows a secret after creation, and stores only its hash", async () => {
    const key = (await (await create({ name: "Hashed", mode: "live" })).json()) as ApiKey;
    const secret = key.secret ?? "";
    const page = await list("?limit=100");
    expect(JSON.stringify(page)).not.toContain(secret);
    for (const k of page.data) expect(Object.keys(k)).toEqual(KEY_FIELDS);
    const rows = await env.DB.prepare("SELECT * FROM api_keys").all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(8, 30));
    const row = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?").bind(key.id).first<{ key_hash: string }>();
    expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists newest first in cursor pages, only the caller's org", async () => {
    const org = "org_keys_paging";
    const ids: string[] = [];
    for (const name of ["one", "two", "three"]) ids.unshift(((await (await create({ name, mode: "test" }, org)).json()) as ApiKey).id);
    const first = await list("?limit=2", org);
    expect(first.data.map((k) => k.id)).toEqual(ids.slice(0, 2));
    expect(first).toMatchObject({ has_more: true, next_cursor: ids[1] });
    const second = await list(`?limit=2&starting_after=${first.next_cursor}`, org);
    expect(second.data.map((k) => k.id)).toEqual(ids.slice(2));
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    await expectError(await api(`/v1/api-keys?starting_after=key_demo`, await asUser(org)), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
  });
});

describe("API key errors", () => {
  it("another org's key id is 404 on delete, and stays valid", async () => {
    await expectError(await api("/v1/api-keys/key_demo", { method: "DELETE", ...(await asUser("org_other")) }), 404, {
      type: "not_found",
      code: "api_key.not_found",
    });
    expect((await api("/v1/avatars/av_demo")).status).toBe(200);
    await expectError(await api("/v1/api-keys/key_missing", { method: "DELETE", ...(await asUser()) }), 404, {
      type: "not_found",
      code: "api_key.not_found",
    });
  });

  const invalid: [string, unknown, string, string][] = [
    ["missing name", { mode: "live" }, "parameter.missing", "name"],
    ["empty name", { name: "   ", mode: "live" }, "parameter.invalid", "name"],
    ["long name", { name: "x".repeat(101), mode: "live" }, "parameter.invalid", "name"],
    ["numeric name", { name: 5, mode: "live" }, "parameter.invalid", "name"],
    ["NUL in name", { name: "a\u0000b", mode: "live" }, "parameter.invalid", "name"],
    ["control character in name", { name: "line\nbreak", mode: "live" }, "parameter.invalid", "name"],
    ["lone surrogate in name", { name: "bad \ud800 half", mode: "live" }, "parameter.invalid", "name"],
    ["unknown mode", { name: "x", mode: "prod" }, "parameter.invalid", "mode"],
    ["unknown field", { name: "x", mode: "live", scopes: ["all"] }, "parameter.unknown", "scopes"],
  ];
  for (const [what, body, code, param] of invalid) {
    it(`${what} is 400 ${code} param ${param}`, async () => {
      await expectError(await create(body), 400, { type: "invalid_request", code, param });
    });
  }

  it("a body that is not an object is 400 parameter.invalid", async () => {
    await expectError(await create(["name"]), 400, { type: "invalid_request", code: "parameter.invalid" });
  });

  it("invalid JSON is 400 request.invalid_json", async () => {
    for (const body of ['{"name": ', "", "name=x&mode=live"]) {
      const res = await api("/v1/api-keys", { method: "POST", ...(await asUser()), headers: { "Content-Type": "application/json" }, body });
      await expectError(res, 400, { type: "invalid_request", code: "request.invalid_json" });
    }
  });

  it("a form body is 400 request.unsupported_media_type", async () => {
    const res = await api("/v1/api-keys", {
      method: "POST",
      ...(await asUser()),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "name=x&mode=live",
    });
    await expectError(res, 400, { type: "invalid_request", code: "request.unsupported_media_type" });
  });

  it("bad input creates nothing", async () => {
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>())?.n;
    const before = await count();
    await create({ name: "x", mode: "prod" });
    await create({ name: "x", mode: "live", extra: 1 });
    expect(await count()).toBe(before);
  });
});
