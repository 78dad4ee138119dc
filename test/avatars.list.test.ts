import { describe, expect, it } from "vitest";
import { AV, AVATAR_FIELDS, type Avatar, type List, VISIBLE_TO_DEMO } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";

const list = async (query = "", key: string = KEYS.demo) => {
  const res = await api(`/v1/avatars${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as List<Avatar>;
};

describe("GET /v1/avatars", () => {
  it("lists the visible avatars newest first, with the seed's fields and types", async () => {
    const page = await list();
    expect(Object.keys(page)).toEqual(["object", "data", "has_more", "next_cursor"]);
    expect(page.object).toBe("list");
    expect(page.has_more).toBe(false);
    expect(page.next_cursor).toBeNull();
    expect(page.data.map((a) => a.id)).toEqual(VISIBLE_TO_DEMO);
    for (const avatar of page.data) {
      expect(Object.keys(avatar)).toEqual(AVATAR_FIELDS);
      expect(avatar.object).toBe("avatar");
      for (const field of ["is_demo", "is_favorite", "is_public", "active"] as const) expect(typeof avatar[field]).toBe("boolean");
      expect(Number.isInteger(avatar.looks_count)).toBe(true);
      expect(avatar.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(avatar.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const mira = page.data.find((a) => a.id === AV.mira);
    expect(mira).toMatchObject({ parent_id: null, looks_count: 3, runtime_type: "gaussian", is_public: true, is_demo: false });
    expect(page.data.find((a) => a.id === AV.miraStudio)).toMatchObject({ parent_id: AV.mira, looks_count: 0 });
  });

  it("walks every visible avatar exactly once with limit=1 and starting_after", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: List<Avatar> = await list(`?limit=1${cursor ? `&starting_after=${cursor}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(1);
      seen.push(...page.data.map((a) => a.id));
      if (!page.has_more) {
        expect(page.next_cursor).toBeNull();
        break;
      }
      expect(page.next_cursor).toBe(page.data[0]?.id);
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(VISIBLE_TO_DEMO);
  });

  it("pages with larger limits end where the items end", async () => {
    const first = await list("?limit=4");
    expect(first.data.map((a) => a.id)).toEqual(VISIBLE_TO_DEMO.slice(0, 4));
    expect(first).toMatchObject({ has_more: true, next_cursor: VISIBLE_TO_DEMO[3] });
    const second = await list(`?limit=4&starting_after=${first.next_cursor}`);
    expect(second.data.map((a) => a.id)).toEqual(VISIBLE_TO_DEMO.slice(4));
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    const exact = await list(`?limit=3&starting_after=${first.next_cursor}`);
    expect(exact).toMatchObject({ has_more: false, next_cursor: null });
    const past = await list(`?starting_after=${AV.demo}`);
    expect(past).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
  });

  it("filters by parent_id, status and runtime_type", async () => {
    expect((await list(`?parent_id=${AV.mira}`)).data.map((a) => a.id)).toEqual([AV.miraStudio, AV.miraStreet, AV.miraEvening]);
    expect((await list("?parent_id=av_nobody")).data).toEqual([]);
    expect((await list("?status=processing")).data.map((a) => a.id)).toEqual([AV.demoProcessing]);
    expect((await list("?status=failed")).data.map((a) => a.id)).toEqual([AV.demoFailed]);
    expect((await list("?runtime_type=mock")).data.map((a) => a.id)).toEqual([AV.demo]);
    expect((await list("?runtime_type=gaussian&status=ready")).data.map((a) => a.id)).toEqual([AV.miraStudio, AV.miraStreet, AV.miraEvening, AV.mira]);
    const walk = await list(`?parent_id=${AV.mira}&limit=2`);
    expect(walk.next_cursor).toBe(AV.miraStreet);
    expect((await list(`?parent_id=${AV.mira}&limit=2&starting_after=${walk.next_cursor}`)).data.map((a) => a.id)).toEqual([AV.miraEvening]);
  });

  it("filters by is_favorite", async () => {
    expect((await api(`/v1/avatars/${AV.miraStreet}/favorite`, { method: "PUT" })).status).toBe(200);
    expect((await list("?is_favorite=true")).data.map((a) => a.id)).toEqual([AV.miraStreet]);
    const others = (await list("?is_favorite=false")).data.map((a) => a.id);
    expect(others).toEqual(VISIBLE_TO_DEMO.filter((id) => id !== AV.miraStreet));
  });
});

describe("GET /v1/avatars errors", () => {
  for (const limit of ["0", "101", "abc", "1.5", "-1", ""]) {
    it(`limit=${JSON.stringify(limit)} is 400 param limit`, async () => {
      await expectError(await api(`/v1/avatars?limit=${limit}`), 400, { type: "invalid_request", code: "parameter.invalid", param: "limit" });
    });
  }

  it("an unknown cursor is 400 param starting_after", async () => {
    await expectError(await api("/v1/avatars?starting_after=av_nope"), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
  });

  it("another org's private avatar is an unknown cursor too", async () => {
    await expectError(await api(`/v1/avatars?starting_after=${AV.otherPrivate}`), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
  });

  it("an unknown query parameter is 400 parameter.unknown", async () => {
    await expectError(await api("/v1/avatars?colour=blue"), 400, { type: "invalid_request", code: "parameter.unknown", param: "colour" });
  });

  it("bad filter values are 400 with the filter as param", async () => {
    await expectError(await api("/v1/avatars?status=done"), 400, { type: "invalid_request", code: "parameter.invalid", param: "status" });
    await expectError(await api("/v1/avatars?runtime_type=video"), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "runtime_type",
    });
    await expectError(await api("/v1/avatars?is_favorite=yes"), 400, { type: "invalid_request", code: "parameter.invalid", param: "is_favorite" });
  });

  it("a repeated parameter is 400, not a guess", async () => {
    await expectError(await api("/v1/avatars?limit=1&limit=2"), 400, { type: "invalid_request", code: "parameter.invalid", param: "limit" });
  });
});
