import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AV, type Avatar, type List } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";

const favorites = async (key: string) => ((await (await api("/v1/avatars?is_favorite=true", { key })).json()) as List<Avatar>).data.map((a) => a.id);

describe("PUT and DELETE /v1/avatars/{avatar_id}/favorite", () => {
  it("marks and unmarks, idempotently, answering the avatar", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await api(`/v1/avatars/${AV.mira}/favorite`, { method: "PUT" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: AV.mira, object: "avatar", is_favorite: true, looks_count: 3 });
    }
    expect(((await (await api(`/v1/avatars/${AV.mira}`)).json()) as Avatar).is_favorite).toBe(true);
    for (let i = 0; i < 2; i++) {
      const res = await api(`/v1/avatars/${AV.mira}/favorite`, { method: "DELETE" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: AV.mira, is_favorite: false });
    }
    expect(((await (await api(`/v1/avatars/${AV.mira}`)).json()) as Avatar).is_favorite).toBe(false);
  });

  it("favourites belong to the org that set them", async () => {
    expect((await api(`/v1/avatars/${AV.demo}/favorite`, { method: "PUT", key: KEYS.demo })).status).toBe(200);
    expect((await api(`/v1/avatars/${AV.miraEvening}/favorite`, { method: "PUT", key: KEYS.other })).status).toBe(200);
    expect(await favorites(KEYS.demo)).toEqual([AV.demo]);
    expect(await favorites(KEYS.other)).toEqual([AV.miraEvening]);
    expect(((await (await api(`/v1/avatars/${AV.demo}`, { key: KEYS.other })).json()) as Avatar).is_favorite).toBe(false);
    expect((await api(`/v1/avatars/${AV.demo}/favorite`, { method: "DELETE", key: KEYS.other })).status).toBe(200);
    expect(await favorites(KEYS.demo)).toEqual([AV.demo]);
  });

  it("an unknown avatar is 404 and writes nothing", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM avatar_favorites").first<{ n: number }>();
    await expectError(await api("/v1/avatars/av_missing/favorite", { method: "PUT" }), 404, { type: "not_found", code: "avatar.not_found" });
    await expectError(await api("/v1/avatars/av_missing/favorite", { method: "DELETE" }), 404, { type: "not_found", code: "avatar.not_found" });
    const after = await env.DB.prepare("SELECT count(*) AS n FROM avatar_favorites").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });
});
