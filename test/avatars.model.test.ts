import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AV } from "./helpers/fixtures";
import { api, expectError } from "./helpers/http";
import { decodeBase64 } from "./helpers/seed";

interface AvatarModel {
  object: string;
  avatar_id: string;
  runtime_type: string;
  format: string;
  url: string;
  expires_at: string;
}

const seedFile = (key: string) => {
  const model = env.TEST_SEED.models.find((m) => m.key === key);
  if (!model) throw new Error(`no seed model ${key}`);
  return decodeBase64(model.base64);
};

const getModel = async (id: string) => {
  const res = await api(`/v1/avatars/${id}/model`);
  expect(res.status).toBe(200);
  return (await res.json()) as AvatarModel;
};

afterEach(() => vi.useRealTimers());

describe("GET /v1/avatars/{avatar_id}/model", () => {
  it("answers a signed URL that downloads the model with its content type", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await api(`/v1/avatars/${AV.demo}/model`);
    // The signed URL works without a key until it expires: never kept by a cache.
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.status).toBe(200);
    const model = (await res.json()) as AvatarModel;
    expect(Object.keys(model)).toEqual(["object", "avatar_id", "runtime_type", "format", "url", "expires_at", "metadata"]);
    expect(model).toMatchObject({ object: "avatar_model", avatar_id: AV.demo, runtime_type: "mock", format: "json" });
    const url = new URL(model.url);
    expect(url.origin).toBe("https://api.test");
    expect(url.pathname).toBe(`/v1/avatars/${AV.demo}/model/file`);
    const expires = Number(url.searchParams.get("expires"));
    expect(expires - before).toBeGreaterThanOrEqual(900);
    expect(expires - before).toBeLessThanOrEqual(901);
    expect(model.expires_at).toBe(new Date(expires * 1000).toISOString().replace(".000Z", "Z"));

    const file = await api(model.url, { key: null });
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe("application/json");
    expect(file.headers.get("X-Request-Id")).toMatch(/^req_/);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(seedFile("av_demo.json"));
  });

  it("serves a Gaussian look as splat bytes, with ranges and ETags", async () => {
    const model = await getModel(AV.miraStudio);
    expect(model).toMatchObject({ runtime_type: "gaussian", format: "splat" });
    const bytes = seedFile("av_gaussian_mira_studio.splat");

    const full = await api(model.url, { key: null });
    expect(full.status).toBe(200);
    expect(full.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(full.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(bytes);

    const part = await api(model.url, { key: null, headers: { Range: "bytes=32-63" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 32-63/${bytes.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(32, 64));

    const etag = full.headers.get("ETag");
    expect(etag).toBeTruthy();
    const again = await api(model.url, { key: null, headers: { "If-None-Match": etag ?? "" } });
    expect(again.status).toBe(304);
  });

  it("follows RFC 9110 for Range: one range is 206, a bad or multi-range header is ignored, an unsatisfiable one is 416", async () => {
    const model = await getModel(AV.miraStudio);
    const bytes = seedFile("av_gaussian_mira_studio.splat");
    const size = bytes.length;
    const get = (range: string) => api(model.url, { key: null, headers: { Range: range } });

    for (const [range, offset, end] of [
      ["bytes=0-0", 0, 0],
      ["bytes=10-", 10, size - 1],
      ["bytes=-10", size - 10, size - 1],
      [`bytes=-${size + 100}`, 0, size - 1],
      [`bytes=100-${size + 5000}`, 100, size - 1],
      ["BYTES = 5-6", 5, 6],
    ] as const) {
      const res = await get(range);
      expect(res.status, range).toBe(206);
      expect(res.headers.get("Content-Range"), range).toBe(`bytes ${offset}-${end}/${size}`);
      expect(res.headers.get("Content-Length"), range).toBe(String(end - offset + 1));
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(bytes.slice(offset, end + 1));
    }

    for (const range of ["bytes=abc", "bytes=9-0", "bytes=0-1,5-6", "items=0-1", "bytes=", "bytes=-", "bytes=1-2-3", "bytes=0x10-"]) {
      const res = await get(range);
      expect(res.status, range).toBe(200);
      expect(res.headers.get("Content-Range"), range).toBeNull();
      expect(res.headers.get("Content-Length"), range).toBe(String(size));
      expect((await res.arrayBuffer()).byteLength, range).toBe(size);
    }

    for (const range of [`bytes=${size}-`, `bytes=${size + 1}-${size + 9}`, "bytes=-0"]) {
      const res = await get(range);
      expect(res.headers.get("Content-Range"), range).toBe(`bytes */${size}`);
      await expectError(res, 416, { type: "invalid_request", code: "range.not_satisfiable" });
    }
  });

  it("If-None-Match wins over Range (304), as RFC 9110 orders preconditions first", async () => {
    const model = await getModel(AV.miraStudio);
    const etag = (await api(model.url, { key: null })).headers.get("ETag") ?? "";
    const res = await api(model.url, { key: null, headers: { Range: "bytes=0-9", "If-None-Match": `W/${etag}` } });
    expect(res.status).toBe(304);
    const stale = await api(model.url, { key: null, headers: { Range: "bytes=0-9", "If-None-Match": '"other"' } });
    expect(stale.status).toBe(206);
  });

  it("an undecodable signature is 403 signature.invalid, never a 500", async () => {
    for (const signature of ["AAAAA", "A", "AAAA==", "%00", "%ED%A0%80", "x".repeat(10_000), "!!!"]) {
      const res = await api(`/v1/avatars/${AV.demo}/model/file?expires=99999999999&signature=${signature}`, { key: null });
      await expectError(res, 403, { type: "permission", code: "signature.invalid", param: "signature" });
    }
  });

  it("an expired URL is 403 signature.expired", async () => {
    const model = await getModel(AV.demo);
    const expires = Number(new URL(model.url).searchParams.get("expires"));
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expires * 1000 + 1000);
    await expectError(await api(model.url, { key: null }), 403, { type: "permission", code: "signature.expired", param: "expires" });
  });

  it("a URL with one character changed is 403 signature.invalid", async () => {
    const model = await getModel(AV.demo);
    const url = new URL(model.url);
    const signature = url.searchParams.get("signature") ?? "";
    const flipped = `${signature.slice(0, 5)}${signature[5] === "A" ? "B" : "A"}${signature.slice(6)}`;
    url.searchParams.set("signature", flipped);
    await expectError(await api(url.toString(), { key: null }), 403, { type: "permission", code: "signature.invalid", param: "signature" });

    const later = new URL(model.url);
    later.searchParams.set("expires", String(Number(later.searchParams.get("expires")) + 1));
    await expectError(await api(later.toString(), { key: null }), 403, { type: "permission", code: "signature.invalid", param: "signature" });

    const elsewhere = model.url.replace(`/v1/avatars/${AV.demo}/`, `/v1/avatars/${AV.miraStudio}/`);
    await expectError(await api(elsewhere, { key: null }), 403, { type: "permission", code: "signature.invalid", param: "signature" });
  });

  it("a download without its signature parameters is 400", async () => {
    await expectError(await api(`/v1/avatars/${AV.demo}/model/file`, { key: null }), 400, {
      type: "invalid_request",
      code: "parameter.missing",
      param: "expires",
    });
    await expectError(await api(`/v1/avatars/${AV.demo}/model/file?expires=1`, { key: null }), 400, {
      type: "invalid_request",
      code: "parameter.missing",
      param: "signature",
    });
  });

  it("an avatar without a model yet is 422 avatar.not_ready", async () => {
    for (const id of [AV.demoProcessing, AV.demoFailed]) {
      await expectError(await api(`/v1/avatars/${id}/model`), 422, { type: "unprocessable", code: "avatar.not_ready" });
    }
  });

  it("a character with looks is 422 avatar.not_a_look", async () => {
    await expectError(await api(`/v1/avatars/${AV.mira}/model`), 422, { type: "unprocessable", code: "avatar.not_a_look" });
  });

  it("an unknown avatar is 404", async () => {
    await expectError(await api("/v1/avatars/av_missing/model"), 404, { type: "not_found", code: "avatar.not_found" });
  });
});
