import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { imageInfo } from "../src/avatar-files/image";
import { encodePng } from "../src/avatar-files/png";
import { readSplats, SPLAT_BYTES } from "../src/avatar-files/splat";
import { createDb } from "../src/db/client";
import { modelKey, type ProcessingParams, recordOutcome, uploadKey } from "../src/services/avatar-uploads";
import { convertUpload } from "../src/workflows/avatar-conversion";
import { freshOrg } from "./helpers/auth";
import { cloud, makeGlb, makePly } from "./helpers/avatar-files";
import { AV, AVATAR_FIELDS, type Avatar } from "./helpers/fixtures";
import { api, expectError } from "./helpers/http";

/**
 * Custom avatars end to end: created with a signed upload URL, the file PUT to it, the durable job
 * (Workflows) converting it, `ready` or `failed` with what to fix, the preview and the model served,
 * webhook events stored, and the resource's PATCH and DELETE. Every file is made by the tests.
 */

interface Created extends Avatar {
  upload: { url: string; method: "PUT"; expires_at: string; max_bytes: number };
}

type Org = Awaited<ReturnType<typeof freshOrg>>;

const post = (path: string, body: unknown, key: string) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

async function create(org: Org, body: Record<string, unknown>): Promise<Created> {
  const res = await post("/v1/avatars", { name: "Mine", runtime_type: "gaussian", source_format: "ply", ...body }, org.key);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Created;
}

/** PUTs `bytes` to a signed upload URL, as `curl -T` would (no key, a Content-Length). */
const put = (url: string, bytes: Uint8Array, headers: Record<string, string> = {}) =>
  api(url, { method: "PUT", key: null, headers: { "Content-Length": String(bytes.length), ...headers }, body: bytes });

const get = async (org: Org, id: string) => (await (await api(`/v1/avatars/${id}`, { key: org.key })).json()) as Avatar;

/** The avatar once its job has written an outcome (watched in D1: polling the API would spend the org's rate limit). */
async function settled(org: Org, id: string): Promise<Avatar> {
  await vi.waitFor(
    async () => {
      const row = await env.DB.prepare("SELECT status FROM avatars WHERE id = ?").bind(id).first<{ status: string }>();
      expect(row?.status).not.toBe("processing");
    },
    { timeout: 15_000, interval: 50 },
  );
  return get(org, id);
}

async function uploaded(org: Org, file: Uint8Array, body: Record<string, unknown> = {}): Promise<Avatar> {
  const avatar = await create(org, body);
  const res = await put(avatar.upload.url, file);
  expect(res.status, await res.clone().text()).toBe(200);
  return settled(org, avatar.id);
}

const filesOf = async (id: string) => (await env.MODELS.list({ prefix: `avatars/${id}/` })).objects.map((o) => o.key).sort();

const eventsOf = async (org: Org, type: string) =>
  ((await (await api(`/v1/events?type=${type}`, { key: org.key })).json()) as { data: { data: { avatar: { id: string } & Record<string, unknown> } }[] }).data;

afterEach(() => vi.useRealTimers());

describe("POST /v1/avatars, then PUT the file", () => {
  it("a PLY becomes a ready .splat: counts and bounds, a 512² preview, the model served, avatar.ready stored", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const splats = cloud(300);
    const created = await create(org, { name: "Ada", is_public: false });
    expect(Object.keys(created)).toEqual([...AVATAR_FIELDS, "upload"]);
    expect(created).toMatchObject({ object: "avatar", name: "Ada", status: "processing", runtime_type: "gaussian", source_format: "ply", failure: null });
    expect(created.upload).toMatchObject({ method: "PUT", max_bytes: 200 * 1024 * 1024 });
    expect(new URL(created.upload.url).pathname).toBe(`/v1/avatars/${created.id}/upload`);
    expect(Date.parse(created.upload.expires_at) - Date.now()).toBeGreaterThan(3500_000);

    const stored = await put(created.upload.url, makePly(splats));
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as Avatar).status).toBe("processing");

    const ready = await settled(org, created.id);
    expect(ready).toMatchObject({ status: "ready", failure: null, source_format: "ply" });
    const model = (await (await api(`/v1/avatars/${created.id}/model`, { key: org.key })).json()) as {
      format: string;
      url: string;
      metadata: { bytes: number; splat_count: number; bounds: { min: number[]; max: number[] } };
    };
    expect(model.format).toBe("splat");
    expect(model.metadata).toMatchObject({ bytes: 300 * SPLAT_BYTES, splat_count: 300, image: null });
    const xs = splats.map((s) => s.position[0]);
    expect(model.metadata.bounds.min[0]).toBeCloseTo(Math.min(...xs), 5);
    expect(model.metadata.bounds.max[0]).toBeCloseTo(Math.max(...xs), 5);
    const file = new Uint8Array(await (await api(model.url, { key: null })).arrayBuffer());
    expect(file.length).toBe(300 * SPLAT_BYTES);
    expect([...readSplats(file)]).toHaveLength(300);

    // The preview is this API's, public and immutable, and is a 512 × 512 PNG.
    expect(ready.preview_img_url).toMatch(new RegExp(`^https://api\\.test/v1/avatars/${created.id}/preview/[\\w-]{22}$`));
    const preview = await api(ready.preview_img_url as string, { key: null });
    expect(preview.status).toBe(200);
    expect(preview.headers.get("Content-Type")).toBe("image/png");
    expect(preview.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(imageInfo(new Uint8Array(await preview.arrayBuffer()))).toMatchObject({ width: 512, height: 512 });

    // Exactly the model and the preview remain: the upload itself is gone.
    expect(await filesOf(created.id)).toEqual([modelKey(created.id, "splat"), expect.stringMatching(/\/preview-/)]);
    const [event, ...more] = await eventsOf(org, "avatar.ready");
    expect(more).toEqual([]);
    expect(event?.data.avatar).toMatchObject({ id: created.id, status: "ready", source_format: "ply", failure: null });
  });

  it("a .splat is checked and sorted, a GLB checked (no preview), an image becomes the mock runtime's preview", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const fromPly = await uploaded(org, makePly(cloud(40)));
    const { url } = (await (await api(`/v1/avatars/${fromPly.id}/model`, { key: org.key })).json()) as { url: string };
    const splatBytes = new Uint8Array(await (await api(url, { key: null })).arrayBuffer());
    const splat = await uploaded(org, splatBytes, { source_format: "splat" });
    expect(splat).toMatchObject({ status: "ready", source_format: "splat" });

    const glb = await uploaded(org, makeGlb(JSON.stringify({ asset: { version: "2.0" }, meshes: [{}] })), { source_format: "glb" });
    expect(glb).toMatchObject({ status: "ready", preview_img_url: null });
    const glbModel = (await (await api(`/v1/avatars/${glb.id}/model`, { key: org.key })).json()) as { format: string; url: string };
    expect(glbModel.format).toBe("glb");
    expect((await api(glbModel.url, { key: null })).headers.get("Content-Type")).toBe("model/gltf-binary");

    const png = await encodePng(64, 48, new Uint8Array(64 * 48 * 4).fill(180));
    const image = await uploaded(org, png, { source_format: "image", runtime_type: "mock" });
    expect(image).toMatchObject({ status: "ready", runtime_type: "mock" });
    expect(new Uint8Array(await (await api(image.preview_img_url as string, { key: null })).arrayBuffer())).toEqual(png);
    const mock = (await (await api(`/v1/avatars/${image.id}/model`, { key: org.key })).json()) as { format: string; metadata: unknown };
    expect(mock).toMatchObject({ format: "json", metadata: { image: { width: 64, height: 48 } } });
  });

  it("files that cannot be used fail with what to fix, and avatar.failed says so", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const cases: [string, Uint8Array, Record<string, unknown>, string, RegExp][] = [
      ["a header that lies about its count", makePly(cloud(10), { declared: 12_000 }), {}, "avatar.format_invalid", /12000/],
      ["a truncated body", makePly(cloud(10)).subarray(0, 1500), {}, "avatar.format_invalid", /./],
      ["NaN values", makePly([{ ...cloud(1)[0], position: [Number.NaN, 0, 0] } as never, ...cloud(3)]), {}, "avatar.format_invalid", /NaN|finite/i],
      ["a PNG sent as PLY", await encodePng(2, 2, new Uint8Array(16)), {}, "avatar.format_invalid", /PLY/],
      ["a broken GLB", makeGlb("{not json"), { source_format: "glb" }, "avatar.format_invalid", /JSON/],
      [
        "a text file as an image",
        new TextEncoder().encode("hello"),
        { source_format: "image", runtime_type: "mock" },
        "avatar.format_invalid",
        /PNG or a JPEG/,
      ],
    ];
    for (const [what, bytes, body, code, message] of cases) {
      const avatar = await uploaded(org, bytes, body);
      expect(avatar.status, what).toBe("failed");
      expect(avatar.failure?.code, what).toBe(code);
      expect(avatar.failure?.message, what).toMatch(message);
      expect(await filesOf(avatar.id), what).toEqual([]);
      const model = await api(`/v1/avatars/${avatar.id}/model`, { key: org.key });
      await expectError(model, 422, { type: "unprocessable", code: "avatar.not_ready" });
    }
    const failed = await eventsOf(org, "avatar.failed");
    expect(failed).toHaveLength(cases.length);
    expect(failed[0]?.data.avatar.failure).toMatchObject({ code: "avatar.format_invalid" });
  });
});

describe("the signed upload URL", () => {
  it("takes one upload: a second is 409 avatar.upload_used; an edited URL or another avatar's id is signature.invalid", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const avatar = await create(org, {});
    const other = await create(org, {});
    const ply = makePly(cloud(5));
    const edited = new URL(avatar.upload.url);
    edited.searchParams.set("expires", String(Number(edited.searchParams.get("expires")) + 1));
    await expectError(await put(edited.toString(), ply), 403, { type: "permission", code: "signature.invalid", param: "signature" });
    const swapped = avatar.upload.url.replace(avatar.id, other.id);
    await expectError(await put(swapped, ply), 403, { type: "permission", code: "signature.invalid", param: "signature" });

    expect((await put(avatar.upload.url, ply)).status).toBe(200);
    await expectError(await put(avatar.upload.url, ply), 409, { type: "conflict", code: "avatar.upload_used" });
  });

  it("expires: signature.expired after expires_at", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const avatar = await create(org, {});
    vi.useFakeTimers({ now: Date.parse(avatar.upload.expires_at) + 1000, toFake: ["Date"] });
    await expectError(await put(avatar.upload.url, makePly(cloud(5))), 403, { type: "permission", code: "signature.expired", param: "expires" });
  });

  it("refuses an empty body, a body without a length, and one over max_bytes, before storing anything", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const avatar = await create(org, {});
    await expectError(await put(avatar.upload.url, new Uint8Array(0)), 400, { type: "invalid_request", code: "parameter.missing", param: "body" });
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.close();
      },
    });
    const noLength = await api(avatar.upload.url, { method: "PUT", key: null, body: chunked, duplex: "half" } as RequestInit & { key: null });
    await expectError(noLength, 411, { type: "invalid_request", code: "request.length_required" });
    const huge = await api(avatar.upload.url, { method: "PUT", key: null, headers: { "Content-Length": String(300 * 1024 * 1024) }, body: new Uint8Array(10) });
    await expectError(huge, 413, { type: "invalid_request", code: "request.too_large" });
    expect(await filesOf(avatar.id)).toEqual([]);
    // None of those used the URL.
    expect((await put(avatar.upload.url, makePly(cloud(5)))).status).toBe(200);
  });

  it("an upload that never arrives fails as avatar.upload_missing when the job stops waiting", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const introspector = await introspectWorkflow(env.AVATAR_PROCESSING);
    try {
      await introspector.modifyAll(async (m) => {
        await m.forceEventTimeout({ name: "upload" });
      });
      const avatar = await create(org, {});
      const failed = await settled(org, avatar.id);
      expect(failed.failure).toMatchObject({ code: "avatar.upload_missing", message: expect.stringMatching(/expired/) });
      expect((await eventsOf(org, "avatar.failed")).map((e) => e.data.avatar.id)).toEqual([avatar.id]);
      // Too late: the avatar no longer waits for a file.
      await expectError(await put(avatar.upload.url, makePly(cloud(5))), 409, { type: "conflict", code: "avatar.upload_used" });
    } finally {
      await introspector.dispose();
    }
  });
});

describe("the job's steps are retried without duplicates", () => {
  it("a convert step that fails once is retried, and the avatar is ready with exactly its two files", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const introspector = await introspectWorkflow(env.AVATAR_PROCESSING);
    try {
      await introspector.modifyAll(async (m) => {
        await m.disableRetryDelays();
        await m.mockStepError({ name: "convert" }, new Error("storage hiccup"), 1);
      });
      const avatar = await uploaded(org, makePly(cloud(20)));
      expect(avatar.status).toBe("ready");
      expect(await filesOf(avatar.id)).toHaveLength(2);
      expect(await eventsOf(org, "avatar.ready")).toHaveLength(1);
    } finally {
      await introspector.dispose();
    }
  });

  it("running convert and record twice writes the same files, one outcome and one event", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const avatar = await create(org, {});
    expect((await put(avatar.upload.url, makePly(cloud(30)))).status).toBe(200);
    await settled(org, avatar.id);
    // The same step again, by hand, on an upload put back where it was.
    await env.MODELS.put(uploadKey(avatar.id), makePly(cloud(30)));
    const params: ProcessingParams = {
      avatarId: avatar.id,
      orgId: org.id,
      sourceFormat: "ply",
      runtimeType: "gaussian",
      name: "Mine",
      previewToken: (await get(org, avatar.id)).preview_img_url?.split("/").pop() as string,
      uploadTtlMs: 60_000,
      eventId: "evt_retry_test_000000000000000",
    };
    const before = await filesOf(avatar.id);
    const outcome = await convertUpload(env.MODELS, params);
    expect(outcome.status).toBe("ready");
    expect(await filesOf(avatar.id)).toEqual(before);
    const db = createDb(env.DB);
    const first = await recordOutcome(db, params, outcome);
    const second = await recordOutcome(db, params, outcome);
    // The avatar was already ready: nothing written, no event stored either time.
    expect(first).toEqual({ exists: true, event: null });
    expect(second).toEqual({ exists: true, event: null });
    expect(await eventsOf(org, "avatar.ready")).toHaveLength(1);
  });
});

describe("conversations and the avatar's lifecycle", () => {
  it("a look is refused while processing (422 avatar.not_ready) and accepted once ready", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const character = await create(org, { name: "Character" });
    const look = await create(org, { name: "Look", parent_id: character.id });
    expect(look.parent_id).toBe(character.id);
    const early = await post("/v1/conversations", { avatar_id: look.id }, org.key);
    await expectError(early, 422, { type: "unprocessable", code: "avatar.not_ready", param: "avatar_id" });
    expect((await put(look.upload.url, makePly(cloud(10)))).status).toBe(200);
    expect((await settled(org, look.id)).status).toBe("ready");
    const conv = await post("/v1/conversations", { avatar_id: look.id }, org.key);
    expect(conv.status).toBe(201);
  });

  it("PATCH renames, publishes and deactivates; DELETE removes it and its files, conversations keep their record", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const other = await freshOrg("enterprise", 100_000);
    const avatar = await uploaded(org, makePly(cloud(10)));
    const patch = (id: string, body: unknown, key = org.key) =>
      api(`/v1/avatars/${id}`, { method: "PATCH", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

    const renamed = (await (await patch(avatar.id, { name: "Renamed", is_public: true })).json()) as Avatar;
    expect(renamed).toMatchObject({ name: "Renamed", is_public: true, active: true });
    // Public now: the other org sees it, and still cannot change it.
    expect((await api(`/v1/avatars/${avatar.id}`, { key: other.key })).status).toBe(200);
    await expectError(await patch(avatar.id, { name: "Mine now" }, other.key), 403, { type: "permission", code: "avatar.read_only" });
    await expectError(await patch(AV.demo, { name: "x" }), 403, { type: "permission", code: "avatar.read_only" });
    await expectError(await patch(avatar.id, { colour: "red" }), 400, { type: "invalid_request", code: "parameter.unknown", param: "colour" });

    const conv = (await (await post("/v1/conversations", { avatar_id: avatar.id }, org.key)).json()) as { id: string };
    expect(((await (await patch(avatar.id, { active: false })).json()) as Avatar).active).toBe(false);
    await expectError(await api(`/v1/avatars/${avatar.id}`, { method: "DELETE", key: other.key }), 403, { type: "permission", code: "avatar.read_only" });
    expect((await patch(avatar.id, { is_public: false })).status).toBe(200);
    // Private again: to the other org it does not exist.
    await expectError(await patch(avatar.id, { name: "x" }, other.key), 404, { type: "not_found", code: "avatar.not_found" });
    await expectError(await api(`/v1/avatars/${avatar.id}`, { method: "DELETE", key: other.key }), 404, { type: "not_found", code: "avatar.not_found" });

    const deleted = await api(`/v1/avatars/${avatar.id}`, { method: "DELETE", key: org.key });
    expect(await deleted.json()).toEqual({ id: avatar.id, object: "avatar", deleted: true });
    expect(await filesOf(avatar.id)).toEqual([]);
    await expectError(await api(`/v1/avatars/${avatar.id}`, { key: org.key }), 404, { type: "not_found", code: "avatar.not_found" });
    const list = (await (await api("/v1/avatars?limit=100", { key: org.key })).json()) as { data: Avatar[] };
    expect(list.data.map((a) => a.id)).not.toContain(avatar.id);
    expect((await api(avatar.preview_img_url as string, { key: null })).status).toBe(404);
    const kept = await api(`/v1/conversations/${conv.id}`, { key: org.key });
    expect(kept.status).toBe(200);
    expect(((await kept.json()) as { avatar_id: string }).avatar_id).toBe(avatar.id);
  });

  it("deleting a character deletes its looks; deleting during processing leaves no files behind", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const character = await create(org, { name: "Character" });
    const look = await create(org, { name: "Look", parent_id: character.id });
    expect((await put(character.upload.url, makePly(cloud(10)))).status).toBe(200);
    expect((await api(`/v1/avatars/${character.id}`, { method: "DELETE", key: org.key })).status).toBe(200);
    expect((await api(`/v1/avatars/${look.id}`, { key: org.key })).status).toBe(404);
    await expectError(await put(look.upload.url, makePly(cloud(5))), 404, { type: "not_found", code: "avatar.not_found" });
    // The job finishes after the delete, finds the avatar gone and removes what it wrote.
    await vi.waitFor(async () => expect(await filesOf(character.id)).toEqual([]), { timeout: 10_000, interval: 100 });
  });
});

describe("limits and checks at creation", () => {
  it("an org keeps at most its tier's avatars, exactly under concurrent creates (free: 5)", async () => {
    const org = await freshOrg("free");
    const results = await Promise.all(
      Array.from({ length: 8 }, () => post("/v1/avatars", { name: "One of many", runtime_type: "gaussian", source_format: "ply" }, org.key)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 409, 409, 409]);
    const refused = results.find((r) => r.status === 409) as Response;
    const error = await expectError(refused, 409, { type: "conflict", code: "avatar.limit_reached" });
    expect(error.message).toMatch(/5 avatars/);
    // Deleting one frees a place.
    const made = (await Promise.all(results.filter((r) => r.status === 201).map((r) => r.json()))) as Created[];
    expect((await api(`/v1/avatars/${made[0]?.id}`, { method: "DELETE", key: org.key })).status).toBe(200);
    expect((await post("/v1/avatars", { name: "Again", runtime_type: "gaussian", source_format: "ply" }, org.key)).status).toBe(201);
  });

  it("parent_id must be one of your characters; the runtime must match the format", async () => {
    const org = await freshOrg("enterprise", 100_000);
    const body = { name: "Look", runtime_type: "gaussian", source_format: "ply" };
    await expectError(await post("/v1/avatars", { ...body, parent_id: AV.otherPrivate }, org.key), 404, {
      type: "not_found",
      code: "avatar.not_found",
      param: "parent_id",
    });
    await expectError(await post("/v1/avatars", { ...body, parent_id: AV.mira }, org.key), 403, {
      type: "permission",
      code: "avatar.read_only",
      param: "parent_id",
    });
    const character = await create(org, {});
    const look = await create(org, { parent_id: character.id });
    await expectError(await post("/v1/avatars", { ...body, parent_id: look.id }, org.key), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "parent_id",
    });
    await expectError(await post("/v1/avatars", { ...body, source_format: "image" }, org.key), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "source_format",
    });
    await expectError(await post("/v1/avatars", { ...body, source_format: "obj" }, org.key), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "source_format",
    });
    await expectError(await post("/v1/avatars", { runtime_type: "gaussian", source_format: "ply" }, org.key), 400, {
      type: "invalid_request",
      code: "parameter.missing",
      param: "name",
    });
  });
});
