import { describe, expect, it } from "vitest";
import { AV } from "./helpers/fixtures";
import { api, expectError } from "./helpers/http";

/**
 * Exactness at the edges: what a hostile or careless client sends that is almost right. Each case
 * was accepted (or mangled) before; each is now refused with the documented envelope, or read
 * exactly as the standard that governs it says.
 */

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

const createConversation = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  api("/v1/conversations", json({ avatar_id: AV.demo, ...body }, headers));

describe("metadata keys", () => {
  it("'__proto__' is refused, not silently dropped (and cannot smuggle a 21st key)", async () => {
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "v"]));
    // JSON.stringify writes an own '__proto__' key when the object has one as a data property.
    const body = `{"avatar_id":"${AV.demo}","metadata":${JSON.stringify(twenty).slice(0, -1)},"__proto__":"x"}}`;
    const error = await expectError(await api("/v1/conversations", json(body)), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "metadata.__proto__",
    });
    expect(error.message).toContain("not allowed as a key");
    const alone = `{"avatar_id":"${AV.demo}","metadata":{"__proto__":{"a":"b"}}}`;
    await expectError(await api("/v1/conversations", json(alone)), 400, { type: "invalid_request", code: "parameter.invalid", param: "metadata.__proto__" });
  });

  it("twenty keys are accepted and stored as sent; twenty-one are not", async () => {
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "v"]));
    const res = await createConversation({ metadata: twenty });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { metadata: Record<string, string> }).metadata).toEqual(twenty);
    await expectError(await createConversation({ metadata: { ...twenty, k20: "v" } }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "metadata",
    });
  });
});

describe("integers in query strings are decimal digits", () => {
  it("limit: hex, exponents, blanks, signs and empty values are refused", async () => {
    for (const value of ["0x10", "1e2", "%20%205", "5%20", "+5", "-0", "1_0", "", "05.0", "%EF%BC%95"]) {
      const error = await expectError(await api(`/v1/avatars?limit=${value}`), 400, { type: "invalid_request", code: "parameter.invalid", param: "limit" });
      expect(error.message).toBe("'limit' must be an integer from 1 to 100.");
    }
    expect((await api("/v1/avatars?limit=05")).status).toBe(200);
    expect((await api("/v1/avatars?limit=100")).status).toBe(200);
  });

  it("last_seq: empty, blank, exponent, hex and signed values are refused before the upgrade", async () => {
    const conv = (await (await createConversation({})).json()) as { id: string };
    for (const value of ["", "%203", "1e1", "0x10", "-0", "3%20", "+1"]) {
      const res = await api(`/v1/conversations/${conv.id}/ws?last_seq=${value}`, { headers: { Upgrade: "websocket" } });
      const error = await expectError(res, 400, { type: "invalid_request", code: "parameter.invalid", param: "last_seq" });
      expect(error.message).toContain("decimal digits");
    }
  });
});

describe("query parameter names", () => {
  it("an empty name is 400 parameter.unknown, on routes with and without parameters", async () => {
    for (const path of ["/v1/avatars?=x", "/v1/avatars/av_demo?=x", "/v1/avatars?limit=2&=x", "/v1/personas?="]) {
      await expectError(await api(path), 400, { type: "invalid_request", code: "parameter.unknown" });
    }
  });
});

describe("media types are read as RFC 9110 defines them", () => {
  const ok = [
    "application/json ; charset=UTF-8",
    "application/json;charset=utf-8",
    "Application/JSON",
    'application/json; charset="utf-8"',
    "application/json\t;\tcharset=utf-8",
    "application/merge-patch+json ; charset=utf-8",
  ];

  it("whitespace around ';', quoted values and any case are the same media type", async () => {
    for (const type of ok) {
      const personas = await api("/v1/personas", json({ name: "RFC 9110", vertical: "support", system_prompt: "Hi." }, { "Content-Type": type }));
      expect(personas.status, type).toBe(201);
    }
  });

  it("a malformed media type or a charset other than UTF-8 is 400 request.unsupported_media_type", async () => {
    for (const type of [
      "application/json; charset",
      "application/json;;=x",
      "application /json",
      "application/json; charset=latin1",
      "json",
      "application/json, text/plain",
    ]) {
      await expectError(await api("/v1/personas", json({ name: "x", vertical: "support", system_prompt: "Hi." }, { "Content-Type": type })), 400, {
        type: "invalid_request",
        code: "request.unsupported_media_type",
      });
    }
  });
});

describe("bodies that are not UTF-8", () => {
  it("are 400 request.invalid_json, never stored with replacement characters", async () => {
    const prefix = new TextEncoder().encode('{"name":"Bad \u00e9 ');
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const body = new Uint8Array([...prefix, ...bad, ...new TextEncoder().encode('","vertical":"support","system_prompt":"Hi."}')]);
      const res = await api("/v1/personas", { method: "POST", headers: { "Content-Type": "application/json" }, body });
      await expectError(res, 400, { type: "invalid_request", code: "request.invalid_json" });
    }
    const list = (await (await api("/v1/personas?limit=100")).json()) as { data: { name: string }[] };
    expect(list.data.some((p) => p.name.includes("\uFFFD"))).toBe(false);
  });

  it("valid UTF-8, a byte-order mark included, is read as sent", async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name":"Caf\u00e9 \u{1F600}","vertical":"support","system_prompt":"Hi."}')]);
    const res = await api("/v1/personas", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: string }).name).toBe("Caf\u00e9 \u{1F600}");
  });
});

describe("error messages quote what was sent, bounded and escaped", () => {
  const unsafe = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

  it("a 64,000-character id with NUL and U+202E is quoted in at most ~100 characters, escaped", async () => {
    const id = `conv_%00%E2%80%AE${"A".repeat(64_000)}`;
    const error = await expectError(await api(`/v1/conversations/${id}`), 404, { type: "not_found", code: "conversation.not_found" });
    expect(error.message.length).toBeLessThan(200);
    expect(error.message).not.toMatch(unsafe);
    expect(error.message).toContain("\\u0000");
    expect(error.message).toContain("\\u202e");
    expect(error.message).toContain("…");
  });

  it("an unknown body field's name is bounded in the message and in param", async () => {
    const name = `x\u202e${"y".repeat(5000)}`;
    const error = await expectError(await api("/v1/personas", json({ name: "n", vertical: "support", system_prompt: "Hi.", [name]: 1 })), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: expect.any(String) as unknown as string,
    });
    expect(error.message.length).toBeLessThan(200);
    expect(error.param?.length).toBeLessThanOrEqual(210);
    expect(`${error.message}${error.param}`).not.toMatch(unsafe);
  });

  it("an unknown query parameter, a route and a model are quoted the same way", async () => {
    const long = `%E2%80%AE${"q".repeat(3000)}`;
    for (const [path, status, code] of [
      [`/v1/avatars/av_demo?${long}=1`, 400, "parameter.unknown"],
      [`/v1/nowhere/${long}`, 404, "route.not_found"],
    ] as const) {
      const res = await api(path);
      expect(res.status).toBe(status);
      const { error } = (await res.json()) as { error: { code: string; message: string; param?: string } };
      expect(error.code).toBe(code);
      expect(error.message.length).toBeLessThan(250);
      expect(error.message).not.toMatch(unsafe);
    }
    const model = await api("/v1/ai/chat/completions", json({ model: `mock:${"m\u0000".repeat(2000)}`, messages: [{ role: "user", content: "hi" }] }));
    const error = await expectError(model, 422, { type: "unprocessable", code: "model.unknown", param: "model" });
    expect(error.message.length).toBeLessThan(250);
    expect(error.message).not.toMatch(unsafe);
  });
});

describe("signatures have one spelling", () => {
  const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  it("a last character that differs only in its padding bits is 403 signature.invalid", async () => {
    const model = (await (await api(`/v1/avatars/${AV.miraStudio}/model`)).json()) as { url: string };
    const url = new URL(model.url);
    const signature = url.searchParams.get("signature") ?? "";
    expect(signature).toHaveLength(43);
    // 32 bytes are 256 bits: the 43rd character carries 4 of them and 2 unused bits.
    const last = B64URL.indexOf(signature.slice(-1));
    expect(last % 4).toBe(0);
    for (const padding of [1, 2, 3]) {
      url.searchParams.set("signature", `${signature.slice(0, -1)}${B64URL[last + padding]}`);
      await expectError(await api(url.toString(), { key: null }), 403, { type: "permission", code: "signature.invalid", param: "signature" });
    }
    url.searchParams.set("signature", signature);
    expect((await api(url.toString(), { key: null })).status).toBe(200);
  });

  it("an expiry with a leading zero is not the signed expiry", async () => {
    const model = (await (await api(`/v1/avatars/${AV.miraStudio}/model`)).json()) as { url: string };
    const url = new URL(model.url);
    url.searchParams.set("expires", `0${url.searchParams.get("expires")}`);
    await expectError(await api(url.toString(), { key: null }), 403, { type: "permission", code: "signature.invalid", param: "signature" });
  });
});
