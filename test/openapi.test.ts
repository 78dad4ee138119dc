import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { userJwt } from "./helpers/auth";
import { api, expectError } from "./helpers/http";

interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
}

const getDoc = async () => {
  const res = await api("/v1/openapi.json", { key: null });
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
};

/** `/v1/avatars/:avatar_id` → `/v1/avatars/{avatar_id}` */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document with the bearer scheme and the error envelope", async () => {
    const doc = await getDoc();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Avatar API");
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas).toHaveProperty("ApiErrorEnvelope");
    expect(doc.components.schemas).toHaveProperty("Avatar");
  });

  it("describes the conversation WebSocket in x-websocket: client events from the validating schema, every server event", async () => {
    const doc = (await getDoc()) as Doc & {
      "x-websocket": {
        path: string;
        client_events: { oneOf?: { properties: { type: { const: string } } }[]; anyOf?: { properties: { type: { const: string } } }[] };
        server_events: Record<string, { fields: Record<string, string> }>;
      };
    };
    const ws = doc["x-websocket"];
    expect(doc.paths[ws.path]?.get).toBeDefined();
    const variants = ws.client_events.oneOf ?? ws.client_events.anyOf ?? [];
    expect(variants.map((v) => v.properties.type.const).sort()).toEqual([
      "avatar.interrupt",
      "avatar.playback",
      "avatar.speak",
      "input.audio.append",
      "input.audio.clear",
      "input.audio.commit",
      "input.text",
      "session.end",
      "session.keep_alive",
      "session.update",
      "tool.result",
    ]);
    expect(Object.keys(ws.server_events).sort()).toEqual(
      [
        "agent.response.delta",
        "agent.response.done",
        "avatar.audio.delta",
        "avatar.interrupted",
        "avatar.speech.started",
        "avatar.speech.stopped",
        "avatar.state",
        "error",
        "message.created",
        "metrics.turn",
        "session.ended",
        "session.expiring",
        "session.keep_alive.ack",
        "session.ready",
        "session.updated",
        "tool.call",
        "tool.result",
        "user.barge_in",
        "user.speech.ignored",
        "user.speech.started",
        "user.speech.stopped",
        "user.transcript.delta",
        "user.transcript.final",
        "user.turn.ended",
      ].sort(),
    );
    expect(Object.keys(ws.server_events["avatar.audio.delta"]?.fields ?? {})).toEqual(["turn_id", "audio", "format", "alignment", "visemes"]);
    // Read from server-events.md: every event has its description, every field its meaning.
    for (const [type, doc] of Object.entries(ws.server_events as Record<string, { description: string; fields: Record<string, string> }>)) {
      expect(doc.description.length, type).toBeGreaterThan(20);
      for (const [field, meaning] of Object.entries(doc.fields)) expect(meaning.length, `${type}.${field}`).toBeGreaterThan(2);
    }
    expect(ws.server_events["user.turn.ended"]?.fields.reason).toMatch(/^silence \(silence_ms of silence/);
  });

  it("documents every route the app registers", async () => {
    const doc = await getDoc();
    const registered = createApp()
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(registered.length).toBeGreaterThan(8);
    for (const route of registered) expect(documented).toContain(route);
  });

  it("gives every API-key operation its security and its 401, 429 and 500 envelopes", async () => {
    const doc = await getDoc();
    const keyed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security?.some((s) => "apiKey" in s))
        .map(([method, op]) => ({ path, method, op })),
    );
    expect(keyed.map((k) => `${k.method} ${k.path}`)).toEqual(
      expect.arrayContaining(["get /v1/avatars", "get /v1/avatars/{avatar_id}", "put /v1/avatars/{avatar_id}/favorite"]),
    );
    for (const { op } of keyed) {
      for (const status of ["400", "401", "429", "500"]) {
        expect(op.responses[status]?.content?.["application/json"]?.schema.$ref).toBe("#/components/schemas/ApiErrorEnvelope");
      }
    }
  });

  it("every API operation rejects an unknown query parameter", async () => {
    const doc = await getDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path === "/docs" || path === "/v1/openapi.json") continue;
        const concrete = path.replace(/\{(\w+)\}/g, "av_demo");
        const key = op.security?.some((s) => "userJwt" in s) ? await userJwt() : undefined;
        const res = await api(`${concrete}?not_a_parameter=1`, { method: method.toUpperCase(), ...(key ? { key } : {}) });
        expect(res.status, `${method} ${path}`).toBe(400);
        const body = (await res.json()) as { error: { code: string; param: string } };
        expect(body.error, `${method} ${path}`).toMatchObject({ code: "parameter.unknown", param: "not_a_parameter" });
        expect(op.responses["400"], `${method} ${path}`).toBeDefined();
      }
    }
  });
});

describe("GET /docs", () => {
  it("renders the interactive reference over the document", async () => {
    const res = await api("/docs", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("/v1/openapi.json");
    expect(html.toLowerCase()).toContain("swagger");
  });

  it("is not a place for other methods", async () => {
    await expectError(await api("/docs", { method: "POST", key: null }), 405, { type: "invalid_request", code: "method.not_allowed" });
  });
});
