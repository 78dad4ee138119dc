/** Public lists that only a deploy changes: served from the location's cache for anonymous callers. */
import { describe, expect, it } from "vitest";
import { api, KEYS } from "./helpers/http";

const timing = (res: Response) => res.headers.get("Server-Timing") ?? "";

describe("anonymous lists of preset personas", () => {
  it("the second read comes from the cache, with the same body and its own request id", async () => {
    const first = await api("/v1/personas?limit=3&vertical=education", { key: null });
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=60");
    expect(timing(first)).not.toContain("cache;");
    const body = await first.text();
    const second = await api("/v1/personas?limit=3&vertical=education", { key: null });
    expect(second.status).toBe(200);
    expect(timing(second)).toContain('cache;dur=0.0;desc="hit"');
    expect(await second.text()).toBe(body);
    expect(second.headers.get("X-Request-Id")).not.toBe(first.headers.get("X-Request-Id"));
    // A vertical's own route is cached under its own URL.
    await api("/v1/personas/support", { key: null });
    expect(timing(await api("/v1/personas/support", { key: null }))).toContain('desc="hit"');
  });

  it("answers to an API key (which include the org's own personas) are never cached", async () => {
    await api("/v1/personas?limit=4", { key: null });
    const keyed = await api("/v1/personas?limit=4", { key: KEYS.demo });
    expect(keyed.status).toBe(200);
    expect(keyed.headers.get("Cache-Control")).toBeNull();
    expect(timing(keyed)).not.toContain("cache;");
  });

  it("errors are not cached", async () => {
    expect((await api("/v1/personas/astrology", { key: null })).status).toBe(404);
    const again = await api("/v1/personas/astrology", { key: null });
    expect(again.status).toBe(404);
    expect(timing(again)).not.toContain("cache;");
  });
});

it("the voice list is cached for anonymous callers too", async () => {
  const first = await api("/v1/tts/voices?provider=mock", { key: null });
  expect(first.status).toBe(200);
  expect(first.headers.get("Cache-Control")).toBe("public, max-age=60");
  const body = await first.text();
  const second = await api("/v1/tts/voices?provider=mock", { key: null });
  expect(second.headers.get("Server-Timing")).toContain('cache;dur=0.0;desc="hit"');
  expect(await second.text()).toBe(body);
});

it("the model list may be kept by browsers and CDNs", async () => {
  const res = await api("/v1/models", { key: null });
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("public, max-age=60");
});
