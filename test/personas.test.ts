import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshOrg } from "./helpers/auth";
import { AV, type List } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";

interface Persona {
  id: string;
  object: "persona";
  name: string;
  vertical: string;
  description: string;
  system_prompt: string;
  greeting: string | null;
  language: string;
  default_avatar_id: string | null;
  default_voice_id: string;
  model: string;
  is_preset: boolean;
  created_at: string;
  updated_at: string;
}

const FIELDS = [
  "id",
  "object",
  "name",
  "vertical",
  "description",
  "system_prompt",
  "greeting",
  "language",
  "default_avatar_id",
  "default_voice_id",
  "model",
  "stt",
  "tools",
  "is_preset",
  "created_at",
  "updated_at",
];
const VERTICALS = ["education", "support", "sales", "healthcare", "hospitality", "recruiting", "finance", "coaching"];

const publicGet = (path: string) => api(path, { key: null });
const listOf = async (res: Response) => {
  expect(res.status).toBe(200);
  return (await res.json()) as List<Persona>;
};
const json = (method: string, body: unknown, key: string = KEYS.demo) => ({
  method,
  key,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const create = (body: unknown, key?: string) => api("/v1/personas", json("POST", body, key));

const presetCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM personas WHERE owner_org_id IS NULL").first<{ n: number }>())?.n ?? 0;

describe("preset personas", () => {
  it("there are at least 12, two or more in each of at least 6 verticals, each with a real prompt", async () => {
    const page = await listOf(await publicGet("/v1/personas?limit=100"));
    expect(page.data.length).toBeGreaterThanOrEqual(12);
    expect(page.data.length).toBe(await presetCount());
    const byVertical = new Map<string, number>();
    for (const p of page.data) {
      expect(Object.keys(p)).toEqual(FIELDS);
      expect(p).toMatchObject({ object: "persona", is_preset: true, default_avatar_id: AV.demo });
      expect(p.system_prompt.length, p.id).toBeGreaterThan(600);
      expect(p.greeting?.length ?? 0, p.id).toBeGreaterThan(10);
      expect(p.description.length, p.id).toBeGreaterThan(20);
      expect(p.default_voice_id).toMatch(/^mock:(warm|bright|deep)$/);
      expect(p.model).toBe("mock:echo");
      byVertical.set(p.vertical, (byVertical.get(p.vertical) ?? 0) + 1);
    }
    expect(byVertical.size).toBeGreaterThanOrEqual(6);
    for (const count of byVertical.values()) expect(count).toBeGreaterThanOrEqual(2);
    expect(page.data.map((p) => p.id)).toContain("per_support_agent");
  });

  it("are listed newest first in cursor pages that visit each exactly once", async () => {
    const all = (await listOf(await publicGet("/v1/personas?limit=100"))).data.map((p) => p.id);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: List<Persona> = await listOf(await publicGet(`/v1/personas?limit=5${cursor ? `&starting_after=${cursor}` : ""}`));
      walked.push(...page.data.map((p) => p.id));
      expect(page.next_cursor).toBe(page.has_more ? (page.data.at(-1)?.id ?? null) : null);
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all);
    const created = (await listOf(await publicGet("/v1/personas?limit=100"))).data.map((p) => Date.parse(p.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it("filter by vertical, as a query or as a path", async () => {
    for (const vertical of VERTICALS) {
      const byQuery = await listOf(await publicGet(`/v1/personas?vertical=${vertical}&limit=100`));
      const byPath = await listOf(await publicGet(`/v1/personas/${vertical}?limit=100`));
      expect(byQuery.data.length, vertical).toBeGreaterThanOrEqual(2);
      expect(byQuery.data.every((p) => p.vertical === vertical)).toBe(true);
      expect(byPath.data.map((p) => p.id)).toEqual(byQuery.data.map((p) => p.id));
    }
  });

  it("one by id, without a key", async () => {
    const res = await publicGet("/v1/personas/id/per_support_agent");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: "per_support_agent", vertical: "support", is_preset: true });
  });

  it("an unknown vertical is 404 vertical.not_found listing the valid ones", async () => {
    const error = await expectError(await publicGet("/v1/personas/astrology"), 404, { type: "not_found", code: "vertical.not_found" });
    for (const vertical of VERTICALS) expect(error.message).toContain(vertical);
    await expectError(await publicGet("/v1/personas?vertical=astrology"), 400, { type: "invalid_request", code: "parameter.invalid", param: "vertical" });
  });

  it("an unknown persona is 404 persona.not_found", async () => {
    await expectError(await publicGet("/v1/personas/id/per_nope"), 404, { type: "not_found", code: "persona.not_found" });
  });

  it("public requests are limited per address, keyed ones per org", async () => {
    const anonymous = await api("/v1/personas", { key: null, headers: { "CF-Connecting-IP": "203.0.113.50" } });
    expect(anonymous.headers.get("X-RateLimit-Limit")).toBe(env.PUBLIC_RATE_LIMIT_PER_MINUTE);
    const org = await freshOrg("pro");
    const keyed = await api("/v1/personas", { key: org.key });
    expect(keyed.headers.get("X-RateLimit-Limit")).toBe("60");
  });

  it("are readable from any origin", async () => {
    const res = await api("/v1/personas", { key: null, headers: { Origin: "https://someone.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});

describe("an organisation's own personas", () => {
  const body = {
    name: "Returns desk",
    vertical: "support",
    description: "Handles returns for the web shop.",
    system_prompt: "You help customers return items.\nBe brief.",
    greeting: "Hi, I can help with a return.",
    language: "en-GB",
    default_avatar_id: AV.miraStudio,
    default_voice_id: "elevenlabs:21m00Tcm4TlvDq8ikWAM",
    model: "anthropic:claude-haiku-4-5",
  };

  it("create → listed with the key (not without) → retrieve → update → delete", async () => {
    const org = await freshOrg("enterprise", 1000);
    const res = await create(body, org.key);
    expect(res.status).toBe(201);
    const persona = (await res.json()) as Persona;
    expect(Object.keys(persona)).toEqual(FIELDS);
    expect(persona.id).toMatch(/^per_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(persona).toMatchObject({ ...body, object: "persona", is_preset: false });

    const keyed = await listOf(await api("/v1/personas?limit=100", { key: org.key }));
    expect(keyed.data[0]?.id).toBe(persona.id);
    expect(keyed.data.length).toBe((await presetCount()) + 1);
    expect((await listOf(await publicGet("/v1/personas?limit=100"))).data.map((p) => p.id)).not.toContain(persona.id);
    expect((await listOf(await api("/v1/personas/support?limit=100", { key: org.key }))).data[0]?.id).toBe(persona.id);
    await expectError(await publicGet(`/v1/personas/id/${persona.id}`), 404, { type: "not_found", code: "persona.not_found" });

    const got = await api(`/v1/personas/id/${persona.id}`, { key: org.key });
    expect(await got.json()).toEqual(persona);

    const patched = await api(`/v1/personas/id/${persona.id}`, json("PATCH", { greeting: null, name: "  Returns  " }, org.key));
    expect(patched.status).toBe(200);
    const updated = (await patched.json()) as Persona;
    expect(updated).toMatchObject({ ...body, name: "Returns", greeting: null });

    const deleted = await api(`/v1/personas/id/${persona.id}`, { method: "DELETE", key: org.key });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id: persona.id, object: "persona", deleted: true });
    await expectError(await api(`/v1/personas/id/${persona.id}`, { key: org.key }), 404, { type: "not_found", code: "persona.not_found" });
    await expectError(await api(`/v1/personas/id/${persona.id}`, { method: "DELETE", key: org.key }), 404, { type: "not_found", code: "persona.not_found" });
  });

  it("applies the documented defaults", async () => {
    const org = await freshOrg("pro");
    const res = await create({ name: "Minimal", vertical: "coaching", system_prompt: "Coach." }, org.key);
    expect(await res.json()).toMatchObject({
      description: "",
      greeting: null,
      language: "en",
      default_avatar_id: AV.demo,
      default_voice_id: "mock:warm",
      model: "mock:echo",
    });
  });

  it("another org's persona is 404 on read, update and delete, and is never listed", async () => {
    const owner = await freshOrg("pro");
    const persona = (await (await create(body, owner.key)).json()) as Persona;
    // org_demo's key: the avatar in `body` belongs to org_other but is public, so creation worked.
    for (const init of [{ key: KEYS.demo }, json("PATCH", { name: "stolen" }), { method: "DELETE", key: KEYS.demo }]) {
      await expectError(await api(`/v1/personas/id/${persona.id}`, init), 404, { type: "not_found", code: "persona.not_found" });
    }
    expect((await listOf(await api("/v1/personas?limit=100"))).data.map((p) => p.id)).not.toContain(persona.id);
    expect((await (await api(`/v1/personas/id/${persona.id}`, { key: owner.key })).json()) as Persona).toMatchObject({ name: "Returns desk" });
  });

  it("presets are 403 persona.read_only to update or delete", async () => {
    await expectError(await api("/v1/personas/id/per_support_agent", json("PATCH", { name: "mine now" })), 403, {
      type: "permission",
      code: "persona.read_only",
    });
    await expectError(await api("/v1/personas/id/per_support_agent", { method: "DELETE" }), 403, { type: "permission", code: "persona.read_only" });
    expect(await (await publicGet("/v1/personas/id/per_support_agent")).json()).toMatchObject({ is_preset: true });
  });

  it("writing needs an API key", async () => {
    await expectError(await api("/v1/personas", { ...json("POST", body), key: null }), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await api("/v1/personas/id/per_support_agent", { method: "DELETE", key: null }), 401, {
      type: "authentication",
      code: "api_key.missing",
    });
  });

  it("a wrong key on a public list is refused, not ignored", async () => {
    await expectError(await api("/v1/personas", { key: "av_live_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ" }), 401, { type: "authentication", code: "api_key.invalid" });
  });
});

describe("persona validation", () => {
  const valid = { name: "Valid", vertical: "sales", system_prompt: "Sell." };
  const cases: [string, Record<string, unknown>, number, string, string][] = [
    ["no name", { vertical: "sales", system_prompt: "x" }, 400, "parameter.missing", "name"],
    ["empty name", { ...valid, name: "  " }, 400, "parameter.invalid", "name"],
    ["long name", { ...valid, name: "x".repeat(101) }, 400, "parameter.invalid", "name"],
    ["NUL in name", { ...valid, name: "a\u0000b" }, 400, "parameter.invalid", "name"],
    ["no vertical", { name: "x", system_prompt: "x" }, 400, "parameter.missing", "vertical"],
    ["unknown vertical", { ...valid, vertical: "astrology" }, 400, "parameter.invalid", "vertical"],
    ["no prompt", { name: "x", vertical: "sales" }, 400, "parameter.missing", "system_prompt"],
    ["prompt over 10,000", { ...valid, system_prompt: "x".repeat(10_001) }, 400, "parameter.invalid", "system_prompt"],
    ["control character in prompt", { ...valid, system_prompt: "bell\u0007" }, 400, "parameter.invalid", "system_prompt"],
    ["greeting over 1,000", { ...valid, greeting: "x".repeat(1001) }, 400, "parameter.invalid", "greeting"],
    ["bad language", { ...valid, language: "English" }, 400, "parameter.invalid", "language"],
    ["unknown field", { ...valid, temperature: 2 }, 400, "parameter.unknown", "temperature"],
    ["unknown model", { ...valid, model: "openai:gpt-9" }, 422, "model.unknown", "model"],
    ["model without provider", { ...valid, model: "gpt-4o" }, 422, "model.unknown", "model"],
    ["unknown voice", { ...valid, default_voice_id: "mock:shouty" }, 422, "voice.unknown", "default_voice_id"],
    ["another org's private avatar", { ...valid, default_avatar_id: AV.otherPrivate }, 404, "avatar.not_found", "default_avatar_id"],
    ["a missing avatar", { ...valid, default_avatar_id: "av_missing" }, 404, "avatar.not_found", "default_avatar_id"],
  ];
  for (const [what, body, status, code, param] of cases) {
    it(`${what}: ${status} ${code} on ${param}`, async () => {
      const type = status === 400 ? "invalid_request" : status === 404 ? "not_found" : "unprocessable";
      await expectError(await create(body), status, { type, code, param });
    });
  }

  it("the same rules apply to an update, which then changes nothing", async () => {
    const org = await freshOrg("pro");
    const persona = (await (await create(valid, org.key)).json()) as Persona;
    for (const [patch, status, code, param] of [
      [{ model: "openai:gpt-9" }, 422, "model.unknown", "model"],
      [{ default_voice_id: "nope:x" }, 422, "voice.unknown", "default_voice_id"],
      [{ default_avatar_id: AV.otherPrivate }, 404, "avatar.not_found", "default_avatar_id"],
      [{ name: "" }, 400, "parameter.invalid", "name"],
      [{ vertical: null }, 400, "parameter.invalid", "vertical"],
    ] as const) {
      const type = status === 400 ? "invalid_request" : status === 404 ? "not_found" : "unprocessable";
      await expectError(await api(`/v1/personas/id/${persona.id}`, json("PATCH", patch, org.key)), status, { type, code, param });
    }
    expect(await (await api(`/v1/personas/id/${persona.id}`, { key: org.key })).json()).toEqual(persona);
  });

  it("bad input creates nothing", async () => {
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM personas").first<{ n: number }>())?.n;
    const before = await count();
    for (const [, body] of cases) await create(body);
    expect(await count()).toBe(before);
  });
});
