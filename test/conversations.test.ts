import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshOrg } from "./helpers/auth";
import { AV } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";
import { createConversation } from "./helpers/ws";

/** The conversation REST API: create, list, retrieve, message (JSON and SSE), end. */

const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

const create = (body: Record<string, unknown>, key?: string) => post("/v1/conversations", body, key);

const indexCount = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM conversations WHERE org_id = ?").bind(orgId).first<{ n: number }>())?.n ?? 0;

interface Message {
  id: string;
  object: string;
  role: string;
  content: string;
  turn_id: string;
  interrupted: boolean;
  created_at: string;
}

describe("POST /v1/conversations", () => {
  it("creates a conversation with the defaults, a socket URL and a client secret shown once", async () => {
    const before = Date.now();
    const res = await create({ avatar_id: AV.demo });
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown> & { id: string; client_secret: { value: string; expires_at: string } };
    expect(body).toMatchObject({
      object: "conversation",
      status: "active",
      avatar_id: "av_demo",
      persona_id: null,
      model: "mock:echo",
      voice_id: "mock:warm",
      output_audio_format: "pcm_24000",
      transport: { type: "websocket", url: `wss://api.test/v1/conversations/${body.id}/ws` },
      max_duration_s: 600,
      idle_timeout_s: 120,
      metadata: {},
      started_at: null,
      ended_at: null,
      end_reason: null,
    });
    expect(body.id).toMatch(/^conv_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(body.client_secret.value).toMatch(/^cs_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(body.client_secret.expires_at) - before;
    expect(expires).toBeGreaterThan(598_000);
    expect(expires).toBeLessThanOrEqual(601_000);
    expect(Object.keys(body)).toEqual([
      "id",
      "object",
      "status",
      "avatar_id",
      "persona_id",
      "model",
      "voice_id",
      "output_audio_format",
      "output_visemes",
      "input_audio_format",
      "stt",
      "input_language",
      "turn_detection",
      "interruption",
      "transport",
      "max_duration_s",
      "idle_timeout_s",
      "metadata",
      "client_permissions",
      "tools",
      "created_at",
      "started_at",
      "ended_at",
      "end_reason",
      "usage",
      "client_secret",
    ]);
    expect(body.client_permissions).toEqual([]);
    // Retrieving it never shows the secret again.
    const again = (await (await api(`/v1/conversations/${body.id}`)).json()) as Record<string, unknown>;
    expect(again.client_secret).toBeUndefined();
    expect(again.messages).toEqual([]);
  });

  it("builds ws: URLs for plain-HTTP origins", async () => {
    const res = await api("http://localhost:8787/v1/conversations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ avatar_id: AV.demo }),
    });
    const body = (await res.json()) as { id: string; transport: { url: string } };
    expect(body.transport.url).toBe(`ws://localhost:8787/v1/conversations/${body.id}/ws`);
  });

  it("takes the persona's model, voice, prompt and greeting as defaults, each overridable", async () => {
    const persona = (await (await api("/v1/personas/id/per_support_agent")).json()) as { model: string; default_voice_id: string };
    const fromPersona = await createConversation({ persona_id: "per_support_agent", greeting: undefined });
    expect(fromPersona).toMatchObject({ persona_id: "per_support_agent", model: persona.model, voice_id: persona.default_voice_id });
    const overridden = await createConversation({
      persona_id: "per_support_agent",
      voice_id: "mock:deep",
      model: "mock:echo",
      system_prompt: "Be brief.",
      greeting: "Hi.",
    });
    expect(overridden).toMatchObject({ persona_id: "per_support_agent", model: "mock:echo", voice_id: "mock:deep" });
  });

  it("accepts looks and standalone avatars, metadata and limits at their bounds", async () => {
    const conv = await createConversation({
      avatar_id: AV.miraStudio,
      max_duration_s: 30,
      idle_timeout_s: 600,
      metadata: { user_id: "u_1", "plan.tier": "x".repeat(500) },
      output_audio_format: "pcm_16000",
    });
    expect(conv).toMatchObject({
      avatar_id: AV.miraStudio,
      max_duration_s: 30,
      idle_timeout_s: 600,
      output_audio_format: "pcm_16000",
      metadata: { user_id: "u_1" },
    });
    const max = await createConversation({
      max_duration_s: 3600,
      idle_timeout_s: 10,
      metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "v"])),
    });
    expect(max).toMatchObject({ max_duration_s: 3600, idle_timeout_s: 10 });
  });

  describe("refuses bad input with the documented error and writes nothing", () => {
    const cases: [string, Record<string, unknown>, number, { type: string; code: string; param?: string }][] = [
      ["no avatar", {}, 400, { type: "invalid_request", code: "parameter.missing", param: "avatar_id" }],
      ["an unknown field", { avatar_id: AV.demo, colour: "red" }, 400, { type: "invalid_request", code: "parameter.unknown", param: "colour" }],
      [
        "pipecat",
        { avatar_id: AV.demo, transport: { type: "pipecat" } },
        400,
        { type: "invalid_request", code: "transport.unsupported", param: "transport.type" },
      ],
      [
        "livekit",
        { avatar_id: AV.demo, transport: { type: "livekit" } },
        400,
        { type: "invalid_request", code: "transport.unsupported", param: "transport.type" },
      ],
      ["daily", { avatar_id: AV.demo, transport: { type: "daily" } }, 400, { type: "invalid_request", code: "transport.unsupported", param: "transport.type" }],
      [
        "an unknown transport",
        { avatar_id: AV.demo, transport: { type: "carrier-pigeon" } },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "transport.type" },
      ],
      ["max_duration_s 29", { avatar_id: AV.demo, max_duration_s: 29 }, 400, { type: "invalid_request", code: "parameter.invalid", param: "max_duration_s" }],
      [
        "max_duration_s 3601",
        { avatar_id: AV.demo, max_duration_s: 3601 },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "max_duration_s" },
      ],
      [
        "max_duration_s 60.5",
        { avatar_id: AV.demo, max_duration_s: 60.5 },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "max_duration_s" },
      ],
      [
        "max_duration_s as text",
        { avatar_id: AV.demo, max_duration_s: "60" },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "max_duration_s" },
      ],
      ["idle_timeout_s 9", { avatar_id: AV.demo, idle_timeout_s: 9 }, 400, { type: "invalid_request", code: "parameter.invalid", param: "idle_timeout_s" }],
      ["idle_timeout_s 601", { avatar_id: AV.demo, idle_timeout_s: 601 }, 400, { type: "invalid_request", code: "parameter.invalid", param: "idle_timeout_s" }],
      [
        "21 metadata keys",
        { avatar_id: AV.demo, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "metadata" },
      ],
      [
        "a metadata value of 501 characters",
        { avatar_id: AV.demo, metadata: { note: "x".repeat(501) } },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "metadata.note" },
      ],
      [
        "a metadata value that is a number",
        { avatar_id: AV.demo, metadata: { count: 3 } },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "metadata.count" },
      ],
      ["metadata that is a list", { avatar_id: AV.demo, metadata: ["a"] }, 400, { type: "invalid_request", code: "parameter.invalid", param: "metadata" }],
      [
        "an mp3 output format",
        { avatar_id: AV.demo, output_audio_format: "mp3" },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "output_audio_format" },
      ],
      [
        "a system prompt with a NUL",
        { avatar_id: AV.demo, system_prompt: "a\u0000b" },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "system_prompt" },
      ],
      [
        "a greeting over 1,000 characters",
        { avatar_id: AV.demo, greeting: "x".repeat(1001) },
        400,
        { type: "invalid_request", code: "parameter.invalid", param: "greeting" },
      ],
      ["an unknown avatar", { avatar_id: "av_nope" }, 404, { type: "not_found", code: "avatar.not_found", param: "avatar_id" }],
      ["another org's private avatar", { avatar_id: AV.otherPrivate }, 404, { type: "not_found", code: "avatar.not_found", param: "avatar_id" }],
      ["a character with looks", { avatar_id: AV.mira }, 422, { type: "unprocessable", code: "avatar.not_a_look", param: "avatar_id" }],
      ["a processing avatar", { avatar_id: AV.demoProcessing }, 422, { type: "unprocessable", code: "avatar.not_ready", param: "avatar_id" }],
      ["a failed avatar", { avatar_id: AV.demoFailed }, 422, { type: "unprocessable", code: "avatar.not_ready", param: "avatar_id" }],
      ["an unknown persona", { avatar_id: AV.demo, persona_id: "per_nope" }, 404, { type: "not_found", code: "persona.not_found", param: "persona_id" }],
      ["an unknown model", { avatar_id: AV.demo, model: "mock:nope" }, 422, { type: "unprocessable", code: "model.unknown", param: "model" }],
      ["an unknown voice", { avatar_id: AV.demo, voice_id: "mock:nope" }, 422, { type: "unprocessable", code: "voice.unknown", param: "voice_id" }],
      [
        "a model without credentials",
        { avatar_id: AV.demo, model: "openai:gpt-4o-mini" },
        503,
        { type: "service_unavailable", code: "provider.not_configured", param: "model" },
      ],
      [
        "a voice without credentials",
        { avatar_id: AV.demo, voice_id: "elevenlabs:21m00Tcm4TlvDq8ikWAM" },
        503,
        { type: "service_unavailable", code: "provider.not_configured", param: "voice_id" },
      ],
    ];
    it.each(cases)("%s", async (_name, body, status, expected) => {
      const before = await indexCount("org_demo");
      const error = await expectError(await create(body), status, expected);
      if (expected.code === "transport.unsupported") {
        expect(error.message).toBe(`transport.type=${(body.transport as { type: string }).type} is reserved and not yet available`);
      }
      expect(await indexCount("org_demo")).toBe(before);
    });

    it("an inactive avatar is not ready", async () => {
      await env.DB.prepare(
        "INSERT INTO avatars (id, owner_org_id, parent_id, name, is_demo, is_public, active, status, runtime_type, created_at, updated_at) VALUES ('av_inactive_test', 'org_demo', NULL, 'Retired', 0, 0, 0, 'ready', 'mock', 1, 1)",
      ).run();
      await expectError(await create({ avatar_id: "av_inactive_test" }), 422, { type: "unprocessable", code: "avatar.not_ready", param: "avatar_id" });
    });

    it("not JSON, and no body (an empty object)", async () => {
      await expectError(await post("/v1/conversations", "{nope"), 400, { type: "invalid_request", code: "request.invalid_json" });
      await expectError(await api("/v1/conversations", { method: "POST" }), 400, { type: "invalid_request", code: "parameter.missing", param: "avatar_id" });
    });
  });
});

describe("GET /v1/conversations", () => {
  it("lists the org's conversations newest first, filters by status, and pages with a cursor", async () => {
    const org = await freshOrg("enterprise");
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await createConversation({}, org.key)).id);
    await post(`/v1/conversations/${made[1]}/end`, {}, org.key);
    const all = (await (await api("/v1/conversations?limit=100", { key: org.key })).json()) as { data: { id: string; status: string }[]; has_more: boolean };
    expect(all.data.map((c) => c.id)).toEqual([...made].reverse());
    expect(all.has_more).toBe(false);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await api(`/v1/conversations?limit=2${cursor ? `&starting_after=${cursor}` : ""}`, { key: org.key })).json()) as {
        data: { id: string }[];
        has_more: boolean;
        next_cursor: string | null;
      };
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
      expect(page.has_more).toBe(cursor !== null);
    } while (cursor);
    expect(seen).toEqual([...made].reverse());

    const ended = (await (await api("/v1/conversations?status=ended", { key: org.key })).json()) as {
      data: { id: string; status: string; end_reason: string }[];
    };
    expect(ended.data.map((c) => [c.id, c.status, c.end_reason])).toEqual([[made[1], "ended", "api_ended"]]);
    const active = (await (await api("/v1/conversations?status=active", { key: org.key })).json()) as { data: { id: string }[] };
    expect(active.data).toHaveLength(4);
  });

  it("never shows another org's conversations, nor accepts them as a cursor", async () => {
    const theirs = await createConversation({}, KEYS.other);
    const mine = (await (await api("/v1/conversations?limit=100")).json()) as { data: { id: string }[] };
    expect(mine.data.map((c) => c.id)).not.toContain(theirs.id);
    await expectError(await api(`/v1/conversations?starting_after=${theirs.id}`), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
    await expectError(await api("/v1/conversations?status=paused"), 400, { type: "invalid_request", code: "parameter.invalid", param: "status" });
  });
});

describe("messages over REST", () => {
  it("a JSON turn answers 201 with the user's message and the spoken reply, kept in the conversation", async () => {
    const conv = await createConversation();
    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Tell me about gardens in two sentences." });
    expect(res.status).toBe(201);
    const turn = (await res.json()) as { object: string; id: string; status: string; input: Message; output: Message };
    expect(turn).toMatchObject({ object: "turn", status: "completed" });
    expect(turn.id).toMatch(/^turn_/);
    expect(turn.input).toMatchObject({
      object: "message",
      role: "user",
      content: "Tell me about gardens in two sentences.",
      turn_id: turn.id,
      interrupted: false,
    });
    expect(turn.output).toMatchObject({ object: "message", role: "assistant", turn_id: turn.id, interrupted: false });
    expect(turn.output.content.match(/[.!?](\s|$)/g)).toHaveLength(2);
    expect(turn.output.content.toLowerCase()).toContain("garden");

    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: Message[] };
    expect(got.messages).toEqual([turn.input, turn.output]);
  });

  it("the history goes to the model: a second turn sees the first", async () => {
    const conv = await createConversation({ system_prompt: "You are terse." });
    await post(`/v1/conversations/${conv.id}/messages`, { content: "Remember pineapples." });
    const second = (await (await post(`/v1/conversations/${conv.id}/messages`, { content: "Reply with one word." })).json()) as { output: Message };
    expect(second.output.content.split(/\s+/)).toHaveLength(1);
    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: Message[] };
    expect(got.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
  });

  it("stream: true answers the turn's events as server-sent events", async () => {
    const conv = await createConversation();
    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Say something about rivers.", stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/event-stream; charset=utf-8");
    const text = await res.text();
    const events = text
      .trim()
      .split("\n\n")
      .map((block) => {
        const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));
        const data = JSON.parse(fields.data ?? "{}") as { type: string; seq: number };
        expect(fields.event).toBe(data.type);
        expect(Number(fields.id)).toBe(data.seq);
        return data;
      });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("message.created");
    expect(types).toContain("agent.response.delta");
    expect(types).toContain("avatar.audio.delta");
    expect(types.slice(-3)).toEqual(["avatar.speech.stopped", "agent.response.done", "metrics.turn"]);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
  });

  it("refuses empty, oversized and malformed content", async () => {
    const conv = await createConversation();
    const path = `/v1/conversations/${conv.id}/messages`;
    await expectError(await post(path, {}), 400, { type: "invalid_request", code: "parameter.missing", param: "content" });
    await expectError(await post(path, { content: "   " }), 400, { type: "invalid_request", code: "parameter.invalid", param: "content" });
    await expectError(await post(path, { content: "x".repeat(4001) }), 400, { type: "invalid_request", code: "parameter.invalid", param: "content" });
    await expectError(await post(path, { content: "hi", stream: "yes" }), 400, { type: "invalid_request", code: "parameter.invalid", param: "stream" });
    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: Message[] };
    expect(got.messages).toEqual([]);
  });
});

describe("POST /v1/conversations/{id}/end", () => {
  it("ends once, idempotently; messages afterwards are 409", async () => {
    const conv = await createConversation();
    const first = await post(`/v1/conversations/${conv.id}/end`, {});
    expect(first.status).toBe(200);
    const ended = (await first.json()) as { status: string; end_reason: string; ended_at: string };
    expect(ended).toMatchObject({ status: "ended", end_reason: "api_ended" });
    const again = (await (await post(`/v1/conversations/${conv.id}/end`, {})).json()) as typeof ended;
    expect(again).toEqual(ended);
    await expectError(await post(`/v1/conversations/${conv.id}/messages`, { content: "hello?" }), 409, { type: "conflict", code: "conversation.ended" });
    await expectError(await post(`/v1/conversations/${conv.id}/messages`, { content: "hello?", stream: true }), 409, {
      type: "conflict",
      code: "conversation.ended",
    });
    const row = await env.DB.prepare("SELECT status, end_reason, ended_at FROM conversations WHERE id = ?").bind(conv.id).first();
    expect(row).toMatchObject({ status: "ended", end_reason: "api_ended" });
    expect(new Date(row?.ended_at as number).toISOString().replace(/\.\d{3}Z$/, "Z")).toBe(ended.ended_at);
  });
});

describe("security", () => {
  it("another org's conversation is 404 on every route", async () => {
    const theirs = await createConversation({}, KEYS.other);
    await expectError(await api(`/v1/conversations/${theirs.id}`), 404, { type: "not_found", code: "conversation.not_found" });
    await expectError(await post(`/v1/conversations/${theirs.id}/messages`, { content: "hi" }), 404, { type: "not_found", code: "conversation.not_found" });
    await expectError(await post(`/v1/conversations/${theirs.id}/end`, {}), 404, { type: "not_found", code: "conversation.not_found" });
    await expectError(await api(`/v1/conversations/${theirs.id}/ws`, { headers: { Upgrade: "websocket" } }), 404, {
      type: "not_found",
      code: "conversation.not_found",
    });
    // Untouched by all of that.
    const still = (await (await api(`/v1/conversations/${theirs.id}`, { key: KEYS.other })).json()) as { status: string; messages: unknown[] };
    expect(still).toMatchObject({ status: "active", messages: [] });
  });

  it("an unknown id is 404 like another org's", async () => {
    await expectError(await api("/v1/conversations/conv_nope"), 404, { type: "not_found", code: "conversation.not_found" });
  });

  it("every route needs an API key", async () => {
    const conv = await createConversation();
    for (const [method, path] of [
      ["POST", "/v1/conversations"],
      ["GET", "/v1/conversations"],
      ["GET", `/v1/conversations/${conv.id}`],
      ["GET", `/v1/conversations/${conv.id}/messages`],
      ["POST", `/v1/conversations/${conv.id}/messages`],
      ["POST", `/v1/conversations/${conv.id}/end`],
      ["GET", `/v1/conversations/${conv.id}/ws`],
    ] as const) {
      await expectError(await api(path, { method, key: null }), 401, { type: "authentication", code: "api_key.missing" });
      await expectError(await api(path, { method, key: "av_test_wrong000000000000000000000000000000" }), 401, {
        type: "authentication",
        code: "api_key.invalid",
      });
    }
  });

  it("creating counts against the org's rate limit", async () => {
    const org = await freshOrg("free");
    for (let i = 0; i < 10; i++) expect((await create({ avatar_id: AV.demo, greeting: null }, org.key)).status).toBe(201);
    const res = await create({ avatar_id: AV.demo }, org.key);
    await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect(await indexCount(org.id)).toBe(10);
  });

  it("a wrong method is 405 with Allow", async () => {
    const res = await api("/v1/conversations", { method: "DELETE" });
    await expectError(res, 405, { type: "invalid_request", code: "method.not_allowed" });
    expect(res.headers.get("Allow")).toBe("GET, HEAD, POST");
  });
});
