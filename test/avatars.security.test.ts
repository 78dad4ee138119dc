import { describe, expect, it } from "vitest";
import { AV, type Avatar, type List, VISIBLE_TO_OTHER } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";

const ENDPOINTS: [method: string, path: (id: string) => string][] = [
  ["GET", (id) => `/v1/avatars/${id}`],
  ["GET", (id) => `/v1/avatars/${id}/model`],
  ["PUT", (id) => `/v1/avatars/${id}/favorite`],
  ["DELETE", (id) => `/v1/avatars/${id}/favorite`],
];

describe("another org's private avatar", () => {
  it("is 404 avatar.not_found on every avatar endpoint, exactly like a missing one", async () => {
    for (const [method, path] of ENDPOINTS) {
      const hidden = await expectError(await api(path(AV.otherPrivate), { method }), 404, { type: "not_found", code: "avatar.not_found" });
      const missing = await expectError(await api(path("av_01KJXMPK00R52WS9AE0Y6BT6W6"), { method }), 404, {
        type: "not_found",
        code: "avatar.not_found",
      });
      expect(hidden.message.replace(AV.otherPrivate, "ID")).toBe(missing.message.replace("av_01KJXMPK00R52WS9AE0Y6BT6W6", "ID"));
    }
  });

  it("is absent from the list and from every filter", async () => {
    for (const query of ["", "?status=ready", "?runtime_type=gaussian", "?is_favorite=false", "?limit=100"]) {
      const page = (await (await api(`/v1/avatars${query}`)).json()) as List<Avatar>;
      expect(page.data.map((a) => a.id)).not.toContain(AV.otherPrivate);
    }
  });

  it("is visible to its owner, whose list lacks org_demo's private avatars", async () => {
    const own = await api(`/v1/avatars/${AV.otherPrivate}`, { key: KEYS.other });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ id: AV.otherPrivate, is_public: false });
    expect((await api(`/v1/avatars/${AV.otherPrivate}/model`, { key: KEYS.other })).status).toBe(200);
    const page = (await (await api("/v1/avatars", { key: KEYS.other })).json()) as List<Avatar>;
    expect(page.data.map((a) => a.id)).toEqual(VISIBLE_TO_OTHER);
    await expectError(await api(`/v1/avatars/${AV.demoProcessing}`, { key: KEYS.other }), 404, { type: "not_found", code: "avatar.not_found" });
  });

  it("public avatars of another org are visible, and their looks counted", async () => {
    const res = await api(`/v1/avatars/${AV.mira}`, { key: KEYS.free });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: AV.mira, looks_count: 3 });
  });
});

describe("every avatar endpoint needs an API key", () => {
  it("answers 401 api_key.missing without one", async () => {
    await expectError(await api("/v1/avatars", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
    for (const [method, path] of ENDPOINTS) {
      await expectError(await api(path(AV.demo), { method, key: null }), 401, { type: "authentication", code: "api_key.missing" });
    }
  });

  it("checks the key before validating the request", async () => {
    await expectError(await api("/v1/avatars?limit=0", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
  });
});
