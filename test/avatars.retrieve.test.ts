import { describe, expect, it } from "vitest";
import { AV, type Avatar } from "./helpers/fixtures";
import { api, expectError } from "./helpers/http";

describe("GET /v1/avatars/{avatar_id}", () => {
  it("answers av_demo exactly as API.md shows it, with the custom-avatar fields added (null for the platform's)", async () => {
    const res = await api(`/v1/avatars/${AV.demo}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await res.json()).toStrictEqual({
      id: "av_demo",
      object: "avatar",
      name: "Demo (Mock)",
      is_demo: true,
      runtime_type: "mock",
      status: "ready",
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
      parent_id: null,
      looks_count: 0,
      preview_img_url: "https://assets.example.com/avatars/av_demo.png",
      video_url: null,
      is_favorite: false,
      is_public: true,
      active: true,
      source_format: null,
      failure: null,
    });
  });

  it("counts a character's looks and links looks to their character", async () => {
    const mira = (await (await api(`/v1/avatars/${AV.mira}`)).json()) as Avatar;
    expect(mira).toMatchObject({ id: AV.mira, parent_id: null, looks_count: 3, runtime_type: "gaussian", status: "ready" });
    const look = (await (await api(`/v1/avatars/${AV.miraStudio}`)).json()) as Avatar;
    expect(look).toMatchObject({
      parent_id: AV.mira,
      looks_count: 0,
      video_url: "https://assets.example.com/avatars/av_gaussian_mira_studio.mp4",
    });
  });

  it("shows the org's own avatars that are not ready", async () => {
    const processing = (await (await api(`/v1/avatars/${AV.demoProcessing}`)).json()) as Avatar;
    expect(processing).toMatchObject({ status: "processing", is_public: false, preview_img_url: null });
    const failed = (await (await api(`/v1/avatars/${AV.demoFailed}`)).json()) as Avatar;
    expect(failed.status).toBe("failed");
  });

  it("an unknown id is 404 avatar.not_found with the request id", async () => {
    const error = await expectError(await api("/v1/avatars/av_missing"), 404, { type: "not_found", code: "avatar.not_found" });
    expect(error.message).toContain("av_missing");
  });

  it("an unknown query parameter is rejected", async () => {
    await expectError(await api(`/v1/avatars/${AV.demo}?expand=looks`), 400, { type: "invalid_request", code: "parameter.unknown", param: "expand" });
  });
});
