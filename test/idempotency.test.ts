import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, KEYS } from "./helpers/http";

/**
 * Idempotency-Key on POST (Stripe's semantics): a retried create answers the first answer again and
 * creates nothing; the same key with another body is 422; concurrent duplicates create exactly one;
 * keys are per org and credential; errors that did nothing are not kept.
 */

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++n}`;
const post = (path: string, body: unknown, headers: Record<string, string> = {}, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
const countConversations = async () => (await env.DB.prepare("SELECT count(*) AS n FROM conversations").first<{ n: number }>())?.n ?? 0;

describe("Idempotency-Key", () => {
  it("a retried create answers the first answer again, marked replayed, and creates nothing more", async () => {
    const key = unique("create");
    const before = await countConversations();
    const first = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const body = await first.text();
    const again = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": key });
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await again.text()).toBe(body);
    expect(await countConversations()).toBe(before + 1);
  });

  it("the same key with another body is 422 idempotency.key_reused", async () => {
    const key = unique("reuse");
    expect((await post("/v1/personas", { name: "A", vertical: "support", system_prompt: "Be brief." }, { "Idempotency-Key": key })).status).toBe(201);
    const other = await post("/v1/personas", { name: "B", vertical: "support", system_prompt: "Be brief." }, { "Idempotency-Key": key });
    await expectError(other, 422, { type: "unprocessable", code: "idempotency.key_reused", param: "Idempotency-Key" });
  });

  it("concurrent duplicates make exactly one record: the others replay it or are told it is in progress", async () => {
    const key = unique("race");
    const name = unique("persona");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post("/v1/personas", { name, vertical: "sales", system_prompt: "Sell." }, { "Idempotency-Key": key })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    for (const r of answers.filter((a) => a.status === 409)) await expectError(r, 409, { type: "conflict", code: "idempotency.in_progress" });
    const ids = new Set(await Promise.all(answers.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM personas WHERE name = ?").bind(name).first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("is scoped to the org and credential: another org's same key is its own", async () => {
    const key = unique("scoped");
    const mine = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": key });
    const theirs = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": key }, KEYS.other);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get("Idempotent-Replayed")).toBeNull();
    expect(((await mine.json()) as { id: string }).id).not.toBe(((await theirs.json()) as { id: string }).id);
  });

  it("keeps refusals that a retry would meet again, not the request's own 400s", async () => {
    const key = unique("errors");
    const invalid = await post("/v1/conversations", { avatar_id: "av_demo", max_duration_s: 1 }, { "Idempotency-Key": key });
    await expectError(invalid, 400, { type: "invalid_request", code: "parameter.invalid", param: "max_duration_s" });
    // Corrected, with the same key: a 400 is not kept, but the body differs, so it is another request…
    const fixed = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": key });
    expect(fixed.status).toBe(201);
    // …while a 404 (the avatar is not there) is kept and replayed.
    const key2 = unique("missing");
    const missing = await post("/v1/conversations", { avatar_id: "av_nope" }, { "Idempotency-Key": key2 });
    await expectError(missing, 404, { type: "not_found", code: "avatar.not_found", param: "avatar_id" });
    const replay = await post("/v1/conversations", { avatar_id: "av_nope" }, { "Idempotency-Key": key2 });
    expect(replay.status).toBe(404);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("refuses a malformed key with its param, and is not offered for streamed answers", async () => {
    const bad = await post("/v1/conversations", { avatar_id: "av_demo" }, { "Idempotency-Key": "a b" });
    await expectError(bad, 400, { type: "invalid_request", code: "parameter.invalid", param: "Idempotency-Key" });
    const key = unique("tts");
    for (let i = 0; i < 2; i++) {
      const audio = await post("/v1/tts", { text: "Hi.", format: "wav" }, { "Idempotency-Key": key });
      expect(audio.status).toBe(200);
      expect(audio.headers.get("Idempotent-Replayed")).toBeNull();
      await audio.arrayBuffer();
    }
  });

  it("is in the OpenAPI document on every authenticated POST", async () => {
    const doc = (await (await api("/v1/openapi.json", { key: null })).json()) as { paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    const posts = Object.entries(doc.paths).filter(([, item]) => item.post);
    for (const [path, item] of posts) {
      const names = (item.post?.parameters ?? []).map((p) => p.name);
      if (path.startsWith("/v1/")) expect(names, path).toContain("Idempotency-Key");
    }
  });
});
