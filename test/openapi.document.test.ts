import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../src/webhooks/events";
import { userJwt } from "./helpers/auth";
import { api, KEYS } from "./helpers/http";

/**
 * The document as SDK generators read it: names (operationId, tags), nullability, request bodies,
 * the webhooks section, and the headers each response carries — checked against real answers.
 */

type Schema = Record<string, unknown>;
interface Response_ {
  description: string;
  headers?: Record<string, { $ref?: string; description?: string }>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string }[];
  requestBody?: { $ref?: string };
  responses: Record<string, Response_>;
  "x-stream"?: { status: number; media_type: string };
}
interface Doc {
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, { post: Operation & { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }>;
  components: {
    schemas: Record<string, Schema>;
    headers: Record<string, { description: string }>;
    requestBodies: Record<string, { content: Record<string, { schema: Schema }> }>;
  };
}

const getDoc = async () => (await (await api("/v1/openapi.json", { key: null })).json()) as Doc;
const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

/** Every schema object in a tree, with where it is. */
function* schemas(node: unknown, at: string): Generator<[string, Schema]> {
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* schemas(v, `${at}/${i}`);
  else if (node && typeof node === "object") {
    yield [at, node as Schema];
    for (const [k, v] of Object.entries(node)) yield* schemas(v, `${at}/${k}`);
  }
}
const types = (s: Schema) => (Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : []);

describe("names SDK generators turn into methods and modules", () => {
  it("gives every operation a unique camelCase operationId, stable for the ones clients already call", async () => {
    const doc = await getDoc();
    const ids = operations(doc).map(({ method, path, op }) => {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z0-9]*$/);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    const byRoute = Object.fromEntries(operations(doc).map(({ method, path, op }) => [`${method} ${path}`, op.operationId]));
    expect(byRoute).toMatchObject({
      "get /v1/avatars": "listAvatars",
      "post /v1/conversations": "createConversation",
      "post /v1/conversations/{conversation_id}/messages": "sendConversationMessage",
      "post /v1/tts": "createSpeech",
      "post /v1/api-keys": "createApiKey",
      "get /v1/conversations/{conversation_id}/ws": "connectConversation",
    });
  });

  it("declares each tag an operation uses, with a description, and no other", async () => {
    const doc = await getDoc();
    const used = new Set(operations(doc).flatMap(({ op }) => op.tags ?? []));
    expect(new Set(doc.tags.map((t) => t.name))).toEqual(used);
    for (const tag of doc.tags) expect(tag.description.length, tag.name).toBeGreaterThan(20);
  });
});

describe("nullability", () => {
  it("never wraps a nullable reference in allOf (no null satisfies it) and lists null in a nullable enum", async () => {
    const doc = await getDoc();
    for (const [at, s] of schemas(doc, "#")) {
      if (Array.isArray(s.allOf)) for (const part of s.allOf as Schema[]) expect(types(part), at).not.toContain("null");
      if (types(s).includes("null") && Array.isArray(s.enum)) expect(s.enum, at).toContain(null);
    }
  });

  it("a turn's output admits null (a reply interrupted before it said anything: test/upstreams/conversation-pipeline)", async () => {
    const turn = (await getDoc()).components.schemas.Turn as { properties: { output: { anyOf?: Schema[] } } };
    expect(turn.properties.output.anyOf).toEqual([{ $ref: "#/components/schemas/Message" }, { type: "null" }]);
  });
});

describe("request bodies", () => {
  it("are components.requestBodies (input), so a field with a default stays optional in generated types", async () => {
    const doc = await getDoc();
    for (const { method, path, op } of operations(doc)) {
      if (!op.requestBody) continue;
      expect(op.requestBody.$ref, `${method} ${path}`).toMatch(/^#\/components\/requestBodies\/\w+$/);
    }
    const create = doc.components.requestBodies.CreateConversationRequest?.content["application/json"]?.schema as {
      required: string[];
      properties: Record<string, Schema>;
    };
    expect(create.required).toEqual(["avatar_id"]);
    expect(create.properties.output_audio_format).toHaveProperty("default");
    // No request schema is left where generators would read its defaults as always present.
    for (const name of Object.keys(doc.components.requestBodies)) expect(doc.components.schemas).not.toHaveProperty(name);
  });

  it("describes a stream in x-stream instead of a second success type", async () => {
    const doc = await getDoc();
    const send = doc.paths["/v1/conversations/{conversation_id}/messages"]?.post;
    expect(send?.["x-stream"]).toMatchObject({ status: 200, media_type: "text/event-stream" });
    for (const { method, path, op } of operations(doc)) {
      const success = Object.entries(op.responses).filter(([status]) => status.startsWith("2"));
      for (const [status, response] of success) expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).not.toContain("text/event-stream");
    }
  });
});

describe("webhooks", () => {
  it("describe each event type's delivery: its body, the Standard Webhooks headers and what an answer means", async () => {
    const doc = await getDoc();
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    for (const [type, { post }] of Object.entries(doc.webhooks)) {
      const ref = post.requestBody.content["application/json"]?.schema.$ref ?? "";
      const body = doc.components.schemas[ref.replace("#/components/schemas/", "")] as { properties: { type: { enum?: string[]; const?: string } } };
      expect(body.properties.type.enum ?? [body.properties.type.const], type).toEqual([type]);
      expect(post.parameters?.filter((p) => p.in === "header").map((p) => p.name)).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
      expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(["200", "410", "default"]));
      expect(post.operationId).toMatch(/^on[A-Z]/);
    }
  });
});

describe("headers are documented where they are sent", () => {
  it("as reusable components, on every response", async () => {
    const doc = await getDoc();
    expect(Object.keys(doc.components.headers)).toEqual(
      expect.arrayContaining([
        "X-Request-Id",
        "Server-Timing",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "RateLimit-Policy",
        "RateLimit",
        "Retry-After",
        "X-Should-Retry",
      ]),
    );
    for (const { method, path, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const names = Object.keys(response.headers ?? {});
        const where = `${method} ${path} ${status}`;
        expect(names, where).toEqual(expect.arrayContaining(["X-Request-Id", "Server-Timing"]));
        if (status === "429") expect(names, where).toContain("Retry-After");
        if (Number(status) >= 400) expect(names, where).toContain("X-Should-Retry");
      }
    }
  });

  it("and the request headers the model file route reads: Range and If-None-Match", async () => {
    const doc = await getDoc();
    const params = doc.paths["/v1/avatars/{avatar_id}/model/file"]?.get?.parameters ?? [];
    // Header names are case-insensitive (RFC 9110); the document writes them in lower case.
    expect(params.filter((p) => p.in === "header").map((p) => p.name.toLowerCase())).toEqual(expect.arrayContaining(["range", "if-none-match"]));
  });

  /** The documented headers of one answer, resolved; Retry-After on a 503 is documented as "when". */
  const documented = (doc: Doc, method: string, path: string, status: number) => {
    const response = doc.paths[path]?.[method]?.responses[String(status)];
    expect(response, `${method} ${path} ${status} is documented`).toBeDefined();
    return Object.keys(response?.headers ?? {}).filter((h) => !(status === 503 && h === "Retry-After"));
  };

  it("and each documented header is on the real answer", async () => {
    const doc = await getDoc();
    const json = { "Content-Type": "application/json" };
    const model = (await (await api("/v1/avatars/av_demo/model")).json()) as { url: string };
    const file = new URL(model.url).pathname + new URL(model.url).search;
    const whole = await api(file, { key: null });
    const etag = whole.headers.get("ETag") ?? "";
    await whole.arrayBuffer();
    const cases: [string, string, () => Promise<Response>][] = [
      ["get", "/v1/avatars", () => api("/v1/avatars")],
      ["get", "/v1/avatars/{avatar_id}", () => api("/v1/avatars/av_nope")],
      ["get", "/v1/avatars/{avatar_id}", () => api("/v1/avatars/av_demo", { key: "av_test_wrong000000000000000000000000000000" })],
      ["get", "/v1/avatars/{avatar_id}/model", () => api("/v1/avatars/av_demo/model")],
      ["get", "/v1/avatars/{avatar_id}/model/file", () => api(file, { key: null })],
      ["get", "/v1/avatars/{avatar_id}/model/file", () => api(file, { key: null, headers: { Range: "bytes=0-9" } })],
      ["get", "/v1/avatars/{avatar_id}/model/file", () => api(file, { key: null, headers: { "If-None-Match": etag } })],
      ["get", "/v1/avatars/{avatar_id}/model/file", () => api(file, { key: null, headers: { Range: "bytes=99999999-" } })],
      ["post", "/v1/tts/preview", () => api("/v1/tts/preview", { method: "POST", headers: json, body: JSON.stringify({ voice_id: "mock:warm" }) })],
      ["post", "/v1/tts", () => api("/v1/tts", { method: "POST", headers: json, body: JSON.stringify({ text: "Hello." }) })],
      ["get", "/v1/personas", () => api("/v1/personas", { key: null })],
      ["get", "/docs/assets/{file}", () => api("/docs/assets/swagger-ui.css", { key: null })],
      ["post", "/v1/conversations", () => api("/v1/conversations", { method: "POST", headers: json, body: JSON.stringify({ avatar_id: "av_demo" }) })],
    ];
    const seen = new Set<number>();
    for (const [method, path, call] of cases) {
      const res = await call();
      await res.arrayBuffer();
      seen.add(res.status);
      for (const name of documented(doc, method, path, res.status)) expect(res.headers.has(name), `${name} on ${method} ${path} ${res.status}`).toBe(true);
    }
    expect([...seen].sort()).toEqual([200, 201, 206, 304, 401, 404, 416]);
  });

  it("including on a key-management answer and a rate-limited one", async () => {
    const doc = await getDoc();
    const created = await api("/v1/api-keys", {
      method: "POST",
      key: await userJwt(),
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "docs" }),
    });
    expect(created.status).toBe(201);
    for (const name of documented(doc, "post", "/v1/api-keys", 201)) expect(created.headers.has(name), name).toBe(true);
    expect(created.headers.get("Cache-Control")).toBe("no-store");

    let limited: Response | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await api("/v1/avatars", { key: KEYS.free });
      await res.arrayBuffer();
      if (res.status === 429) limited = res;
    }
    expect(limited?.status).toBe(429);
    for (const name of documented(doc, "get", "/v1/avatars", 429)) expect(limited?.headers.has(name), name).toBe(true);
  });
});
