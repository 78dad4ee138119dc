import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { ERROR_CODES, type ErrorCode } from "../src/lib/errors";
import { freshOrg, userJwt } from "./helpers/auth";
import { api, BASE, expectError, KEYS } from "./helpers/http";
import { INTERNAL_URL, LEAKS, leakyMessage } from "./helpers/leaks";
import { fakeUpstream, noAnswer, trickle, watchLogs } from "./helpers/upstream-harness";

/** The AI gateway through HTTP: OpenAI's request and response, whatever the provider. */

afterEach(() => vi.restoreAllMocks());

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string; tool_calls?: unknown[] }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const chat = (body: unknown) => post("/v1/ai/chat/completions", body);
const hello = [{ role: "user", content: "Hello there, how are you today?" }];

/** Splits an SSE body into its events. */
function parseSse(text: string) {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      return { event, data };
    });
}

// --- a deployment with upstream keys pointed at fakes -----------------------------------------

const UPSTREAM = {
  OPENAI_API_KEY: "sk-gateway-test-secret-0001",
  OPENAI_BASE_URL: "https://fake-openai.test/v1",
  ANTHROPIC_API_KEY: "sk-ant-gateway-test-secret-0002",
  ANTHROPIC_BASE_URL: "https://fake-anthropic.test",
  LLM_FIRST_BYTE_TIMEOUT_MS: "300",
  LLM_STREAM_IDLE_TIMEOUT_MS: "300",
};
const configuredEnv = { ...env, ...UPSTREAM };
// Upstream failures are logged; the keys must not be, whatever happened.
watchLogs([UPSTREAM.OPENAI_API_KEY, UPSTREAM.ANTHROPIC_API_KEY]);
const app = createApp();

async function viaConfigured(path: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEYS.demo}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    configuredEnv,
    ctx,
  );
  return { res, done: () => waitOnExecutionContext(ctx) };
}

/** An OpenAI stream: one chunk per `parts` entry, read by read, `gapMs` before each; then the finish, the usage and [DONE]. */
function openAiStream(parts: string[], gapMs = 0) {
  const frame = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
  const base = { id: "chatcmpl-upstream", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
  const end = [
    frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
    frame({ ...base, choices: [], usage: { prompt_tokens: 7, completion_tokens: parts.length, total_tokens: 7 + parts.length } }),
    "data: [DONE]\n\n",
  ].join("");
  const parted = parts.map((content) => frame({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] }));
  return trickle([...parted, end], { pauseMs: gapMs, onRead: true });
}

const sseResponse = (stream: ReadableStream<Uint8Array>) => new Response(stream, { headers: { "Content-Type": "text/event-stream" } });

describe("GET /v1/models", () => {
  it("lists every provider's models with context window and capabilities, without a key", async () => {
    const res = await api("/v1/models", { key: null });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      data: { id: string; provider: string; context_window: number; capabilities: Record<string, boolean> }[];
    };
    expect(body.object).toBe("list");
    const providers = new Set(body.data.map((m) => m.provider));
    expect([...providers].sort()).toEqual(["anthropic", "groq", "mock", "openai"]);
    for (const m of body.data) {
      expect(m.id.startsWith(`${m.provider}:`)).toBe(true);
      expect(m.context_window).toBeGreaterThan(1000);
      expect(Object.keys(m.capabilities).sort()).toEqual(["streaming", "tools", "vision"]);
    }
    expect(body.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(["mock:echo", "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5", "groq:llama-3.3-70b-versatile"]),
    );
  });

  it("filters by provider", async () => {
    const body = (await (await api("/v1/models?provider=anthropic", { key: null })).json()) as { data: { provider: string }[] };
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data.every((m) => m.provider === "anthropic")).toBe(true);
    await expectError(await api("/v1/models?provider=acme", { key: null }), 400, { type: "invalid_request", code: "parameter.invalid", param: "provider" });
  });
});

/** A model id as the OpenAI Node client puts it in a path (its `encodeURIPath`: `:` stays, `/` is `%2F`). */
const asOpenAiPath = (id: string) => id.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]+/g, encodeURIComponent);

interface OpenAiModel {
  id: string;
  object: string;
  created: number;
  owned_by: string;
}

describe("GET /v1/ai/models and /v1/ai/models/{model_id}: the catalogue in OpenAI's shape", () => {
  it("lists the models of /v1/models, same ids and order, as {id, object, created, owned_by}", async () => {
    const res = await api("/v1/ai/models");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: OpenAiModel[] };
    expect(Object.keys(body)).toEqual(["object", "data"]);
    const rich = (await (await api("/v1/models", { key: null })).json()) as { data: { id: string; provider: string }[] };
    expect(rich.data.length).toBeGreaterThan(5);
    expect(body.data).toEqual(rich.data.map((m) => ({ id: m.id, object: "model", created: 1767225600, owned_by: m.provider })));
  });

  it("retrieves every model by its id as OpenAI clients send it, `/` inside the id included", async () => {
    const list = (await (await api("/v1/ai/models")).json()) as { data: OpenAiModel[] };
    expect(list.data.map((m) => m.id)).toContain("groq:meta-llama/llama-4-scout-17b-16e-instruct");
    for (const model of list.data) {
      const res = await api(`/v1/ai/models/${asOpenAiPath(model.id)}`);
      expect(res.status, model.id).toBe(200);
      expect(await res.json()).toEqual(model);
    }
    // Fully encoded (`:` as %3A too) is the same id.
    const encoded = await api(`/v1/ai/models/${encodeURIComponent("groq:openai/gpt-oss-120b")}`);
    expect(((await encoded.json()) as OpenAiModel).id).toBe("groq:openai/gpt-oss-120b");
  });

  it("an id that is not in the catalogue is 404 model.not_found, which a retry cannot fix", async () => {
    for (const id of ["openai:gpt-9", "gpt-4o-mini", "acme:x/y", "mock:echo "]) {
      const res = await api(`/v1/ai/models/${asOpenAiPath(id)}`);
      expect(res.headers.get("X-Should-Retry"), id).toBe("false");
      const error = await expectError(res, 404, { type: "not_found", code: "model.not_found" });
      expect(error.message).toContain(id.trim());
    }
  });

  it("an id with a raw `/` is another path: 404 route.not_found", async () => {
    await expectError(await api("/v1/ai/models/groq:meta-llama/llama-4-scout-17b-16e-instruct"), 404, { type: "not_found", code: "route.not_found" });
  });

  it("needs an API key, like the other gateway routes", async () => {
    await expectError(await api("/v1/ai/models", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await api("/v1/ai/models/mock:echo", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await api("/v1/ai/models", { key: await userJwt() }), 403, { type: "permission", code: "api_key.wrong_kind" });
  });
});

describe("the gateway in the OpenAPI document", () => {
  it("names every operation and documents model.not_found on GET /v1/ai/models/{model_id}", async () => {
    type Op = { operationId?: string; responses: Record<string, { "x-error-codes"?: string[] }> };
    const doc = (await (await api("/v1/openapi.json", { key: null })).json()) as { paths: Record<string, Record<string, Op>> };
    const ids = Object.fromEntries(
      ["/v1/models", "/v1/ai/providers", "/v1/ai/models", "/v1/ai/models/{model_id}", "/v1/ai/chat/completions", "/v1/ai/chat"].map((path) => [
        path,
        Object.values(doc.paths[path] ?? {})[0]?.operationId,
      ]),
    );
    expect(ids).toEqual({
      "/v1/models": "listModels",
      "/v1/ai/providers": "listAiProviders",
      "/v1/ai/models": "listAiModels",
      "/v1/ai/models/{model_id}": "getAiModel",
      "/v1/ai/chat/completions": "createChatCompletion",
      "/v1/ai/chat": "createChatCompletionAlias",
    });
    expect(doc.paths["/v1/ai/models/{model_id}"]?.get?.responses["404"]?.["x-error-codes"]).toEqual(["model.not_found"]);
  });
});

describe("GET /v1/ai/providers", () => {
  it("says which providers this deployment can use", async () => {
    const body = (await (await api("/v1/ai/providers")).json()) as { data: { id: string; configured: boolean; models: string[] }[] };
    expect(Object.fromEntries(body.data.map((p) => [p.id, p.configured]))).toEqual({ mock: true, openai: false, anthropic: false, groq: false });
    const ctx = createExecutionContext();
    const configured = await app.fetch(new Request(`${BASE}/v1/ai/providers`, { headers: { Authorization: `Bearer ${KEYS.demo}` } }), configuredEnv, ctx);
    const again = (await configured.json()) as { data: { id: string; configured: boolean }[] };
    expect(Object.fromEntries(again.data.map((p) => [p.id, p.configured]))).toEqual({ mock: true, openai: true, anthropic: true, groq: false });
  });

  it("needs an API key", async () => {
    await expectError(await api("/v1/ai/providers", { key: null }), 401, { type: "authentication", code: "api_key.missing" });
  });
});

describe("POST /v1/ai/chat/completions with the mock model", () => {
  it("answers a chat.completion, on the alias too", async () => {
    for (const path of ["/v1/ai/chat/completions", "/v1/ai/chat"]) {
      const res = await post(path, { model: "mock:echo", messages: hello });
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as {
        id: string;
        object: string;
        model: string;
        choices: { message: { role: string; content: string }; finish_reason: string }[];
        usage: { total_tokens: number };
      };
      expect(body).toMatchObject({ object: "chat.completion", model: "mock:echo" });
      expect(body.id).toMatch(/^chatcmpl-[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(body.choices[0]?.message.role).toBe("assistant");
      expect(body.choices[0]?.message.content.length).toBeGreaterThan(10);
      expect(body.choices[0]?.finish_reason).toBe("stop");
      expect(body.usage.total_tokens).toBeGreaterThan(0);
    }
  });

  it("streams chat.completion.chunk events ending in [DONE], usage last when asked", async () => {
    const res = await chat({ model: "mock:echo", messages: hello, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("X-Request-Id")).toMatch(/^req_/);
    const events = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as Chunk);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const whole = (await (await chat({ model: "mock:echo", messages: hello })).json()) as { choices: { message: { content: string } }[] };
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === "stop")).toHaveLength(1);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.total_tokens).toBeGreaterThan(0);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("passes tool calls through", async () => {
    const res = await chat({
      model: "mock:echo",
      messages: [{ role: "user", content: "What is the weather in Lisbon?" }],
      tools: [
        { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
      ],
      tool_choice: "required",
    });
    const body = (await res.json()) as {
      choices: { message: { content: null; tool_calls: { function: { name: string; arguments: string } }[] }; finish_reason: string }[];
    };
    expect(body.choices[0]?.finish_reason).toBe("tool_calls");
    const call = body.choices[0]?.message.tool_calls[0];
    expect(call?.function.name).toBe("get_weather");
    expect(typeof (JSON.parse(call?.function.arguments ?? "{}") as { city: unknown }).city).toBe("string");
  });
});

describe("errors", () => {
  it("an unknown model is 422 model.unknown on model", async () => {
    for (const model of ["gpt-4o-mini", "openai:gpt-9", "acme:x"]) {
      await expectError(await chat({ model, messages: hello }), 422, { type: "unprocessable", code: "model.unknown", param: "model" });
    }
  });

  it("a provider without credentials is 503 provider.not_configured", async () => {
    for (const model of ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "groq:llama-3.1-8b-instant"]) {
      await expectError(await chat({ model, messages: hello }), 503, { type: "service_unavailable", code: "provider.not_configured" });
    }
  });

  const invalid: [string, Record<string, unknown>, string, string][] = [
    ["no messages", { model: "mock:echo", messages: [] }, "parameter.invalid", "messages"],
    ["missing messages", { model: "mock:echo" }, "parameter.missing", "messages"],
    ["a message without a role", { model: "mock:echo", messages: [{ content: "x" }] }, "parameter.missing", "messages.0.role"],
    ["a message with an unknown role", { model: "mock:echo", messages: [{ role: "robot", content: "x" }] }, "parameter.invalid", "messages.0.role"],
    ["temperature 3", { model: "mock:echo", messages: hello, temperature: 3 }, "parameter.invalid", "temperature"],
    ["two choices", { model: "mock:echo", messages: hello, n: 2 }, "parameter.invalid", "n"],
    ["five stop sequences", { model: "mock:echo", messages: hello, stop: ["a", "b", "c", "d", "e"] }, "parameter.invalid", "stop"],
    [
      "a bad tool name",
      { model: "mock:echo", messages: hello, tools: [{ type: "function", function: { name: "has space" } }] },
      "parameter.invalid",
      "tools.0.function.name",
    ],
    ["an unknown parameter", { model: "mock:echo", messages: hello, logprobs: true }, "parameter.unknown", "logprobs"],
  ];
  for (const [what, body, code, param] of invalid) {
    it(`${what}: 400 ${code} on ${param}`, async () => {
      await expectError(await chat(body), 400, { type: "invalid_request", code, param });
    });
  }

  it("needs an API key, not a user token", async () => {
    await expectError(await api("/v1/ai/chat/completions", { method: "POST", key: null }), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await post("/v1/ai/chat/completions", { model: "mock:echo", messages: hello }, await userJwt()), 403, {
      type: "permission",
      code: "api_key.wrong_kind",
    });
  });

  it("the envelope carries OpenAI's error fields, so OpenAI clients read it", async () => {
    const body = (await (await chat({ model: "openai:gpt-9", messages: hello })).json()) as { error: Record<string, unknown> };
    expect(typeof body.error.message).toBe("string");
    expect(body.error.type).toBe("unprocessable");
    expect(body.error.code).toBe("model.unknown");
    expect(body.error.param).toBe("model");
  });
});

describe("X-Should-Retry: whether the official clients may retry an error", () => {
  it("false for a provider this deployment has no key for", async () => {
    const res = await chat({ model: "openai:gpt-4o-mini", messages: hello });
    expect(res.headers.get("X-Should-Retry")).toBe("false");
    await expectError(res, 503, { type: "service_unavailable", code: "provider.not_configured" });
  });

  it("false for an unknown model", async () => {
    const res = await chat({ model: "openai:gpt-9", messages: hello });
    expect(res.headers.get("X-Should-Retry")).toBe("false");
    await expectError(res, 422, { type: "unprocessable", code: "model.unknown", param: "model" });
  });

  it("false for a validation error", async () => {
    const res = await chat({ model: "mock:echo", messages: hello, temperature: 3 });
    expect(res.headers.get("X-Should-Retry")).toBe("false");
    await expectError(res, 400, { type: "invalid_request", code: "parameter.invalid", param: "temperature" });
  });

  it("true when the organisation's rate limit is exceeded", async () => {
    const org = await freshOrg("free");
    let res = await api("/v1/ai/models", { key: org.key });
    // 10 a minute; a window that turns over meanwhile only means a few more requests.
    for (let i = 0; i < 30 && res.status !== 429; i++) res = await api("/v1/ai/models", { key: org.key });
    expect(res.headers.get("X-Should-Retry")).toBe("true");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
  });

  it("is on every error response of the API, not only the gateway's", async () => {
    const cases: [Response, number, string][] = [
      [await api("/v1/no-such-route"), 404, "route.not_found"],
      [await api("/v1/avatars/av_nope"), 404, "avatar.not_found"],
      [await api("/v1/ai/models", { method: "DELETE" }), 405, "method.not_allowed"],
      [await api("/v1/avatars", { key: "av_test_not_a_real_key_0000000000000000000000" }), 401, "api_key.invalid"],
      [await api("/v1/avatars?limit=0"), 400, "parameter.invalid"],
    ];
    for (const [res, status, code] of cases) {
      expect(res.headers.get("X-Should-Retry"), code).toBe("false");
      expect(res.status, code).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const ok = await api("/v1/ai/models");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("X-Should-Retry")).toBeNull();
  });

  it("every code is classified, and exactly the transient ones are retryable", () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    for (const code of codes) expect(typeof ERROR_CODES[code].retry, code).toBe("boolean");
    expect(codes.filter((code) => ERROR_CODES[code].retry).sort()).toEqual(
      [
        // The first request with the same Idempotency-Key is still running: the retry gets its answer.
        "idempotency.in_progress",
        "internal",
        "jwt.jwks_unavailable",
        "provider.rate_limited",
        "provider.timeout",
        "provider.unavailable",
        "rate_limit.exceeded",
        "rate_limit.unavailable",
      ].sort(),
    );
    // Validation, credentials, permissions, missing records, conflicts and this deployment's settings: never.
    for (const code of codes) {
      if (/^(request|parameter|api_key|jwt\.(missing|invalid|expired)|config|provider\.not_configured|model)\b/.test(code))
        expect(ERROR_CODES[code].retry, code).toBe(false);
    }
  });
});

describe("through an upstream provider", () => {
  it("streams each upstream chunk as it arrives: the first reaches the client before the upstream finishes", async () => {
    const fake = openAiStream(["One. ", "Two. ", "Three. ", "Four. ", "Five."], 60);
    fakeUpstream(() => sseResponse(fake.body));
    const { res, done } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello, stream: true });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes('"content":"One. "')) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      seen += decoder.decode(value);
    }
    expect(seen).toContain('"content":"One. "');
    expect(fake.closed()).toBe(false);
    expect(fake.enqueued()).toBeLessThan(5);
    let rest = "";
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      rest += decoder.decode(value);
    }
    expect(rest.trim().endsWith("data: [DONE]")).toBe(true);
    expect(fake.closed()).toBe(true);
    await done();
  });

  it("a client that goes away cancels the upstream request", async () => {
    const fake = openAiStream(
      Array.from({ length: 50 }, (_, i) => `word${i} `),
      20,
    );
    const sent = fakeUpstream(() => sseResponse(fake.body));
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello, stream: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(() => expect(fake.cancelled() || sent[0]?.signal?.aborted).toBe(true), { timeout: 1000 });
    expect(fake.enqueued()).toBeLessThan(50);
  });

  it("an upstream 429 is 429 provider.rate_limited with its Retry-After", async () => {
    fakeUpstream(
      () =>
        new Response(JSON.stringify({ error: { message: "Rate limit reached for gpt-4o-mini", type: "requests", code: "rate_limit_exceeded", param: null } }), {
          status: 429,
          headers: { "Content-Type": "application/json", "retry-after": "7" },
        }),
    );
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello });
    expect(res.headers.get("Retry-After")).toBe("7");
    expect(res.headers.get("X-Should-Retry")).toBe("true");
    await expectError(res, 429, { type: "rate_limit", code: "provider.rate_limited" });
  });

  it("an upstream 401 or 500 is 503 provider.unavailable, and never shows the key or the host", async () => {
    for (const status of [401, 500]) {
      fakeUpstream(
        () =>
          new Response(
            JSON.stringify({
              error: {
                message: `Incorrect API key provided: ${UPSTREAM.OPENAI_API_KEY} at https://fake-openai.test/v1`,
                type: "invalid_request_error",
                param: null,
                code: "invalid_api_key",
              },
            }),
            {
              status,
              headers: { "Content-Type": "application/json" },
            },
          ),
      );
      const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello });
      const text = await res.clone().text();
      expect(text).not.toContain(UPSTREAM.OPENAI_API_KEY);
      expect(text).not.toContain("fake-openai");
      expect(res.headers.get("X-Should-Retry")).toBe("true");
      await expectError(res, 503, { type: "service_unavailable", code: "provider.unavailable" });
      vi.restoreAllMocks();
    }
  });

  it("no answer within the first-byte timeout is 503 provider.timeout", async () => {
    fakeUpstream(noAnswer);
    const started = Date.now();
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello, stream: true });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.headers.get("X-Should-Retry")).toBe("true");
    await expectError(res, 503, { type: "service_unavailable", code: "provider.timeout" });
  });

  it("a stream that breaks midway ends with an error event and [DONE], never a hang", async () => {
    // Read by read: the chunk is read before the connection fails (erroring at once would discard the queued chunk).
    const broken = trickle(
      [
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "Half" }, finish_reason: null }] })}\n\n`,
        new Error("connection reset"),
      ],
      { onRead: true },
    );
    fakeUpstream(() => sseResponse(broken.body));
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello, stream: true });
    const events = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    const error = events.at(-2);
    expect(error?.event).toBe("error");
    expect(JSON.parse(error?.data ?? "{}")).toMatchObject({ error: { type: "service_unavailable", code: "provider.unavailable" } });
    expect(events.some((e) => e.data.includes('"content":"Half"'))).toBe(true);
  });

  it("a stream that stalls is cut with a provider.timeout error event", async () => {
    const stalled = trickle(
      [
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "Hmm" }, finish_reason: null }] })}\n\n`,
      ],
      { end: "hang" },
    );
    fakeUpstream(() => sseResponse(stalled.body));
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello, stream: true });
    const events = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(JSON.parse(events.at(-2)?.data ?? "{}")).toMatchObject({ error: { code: "provider.timeout" } });
  });

  it("Anthropic's event stream comes out as OpenAI chunks", async () => {
    const events = [
      [
        "message_start",
        {
          type: "message_start",
          message: {
            id: "msg_1",
            type: "message",
            role: "assistant",
            model: "claude-haiku-4-5",
            content: [],
            stop_reason: null,
            usage: { input_tokens: 12, output_tokens: 1 },
          },
        },
      ],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
      ["ping", { type: "ping" }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " from Claude." } }],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 4 } }],
      ["message_stop", { type: "message_stop" }],
    ] as const;
    const sent = fakeUpstream(() => sseResponse(trickle(events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}   \n\n`)).body));
    const { res } = await viaConfigured("/v1/ai/chat/completions", {
      model: "anthropic:claude-haiku-4-5",
      messages: [{ role: "system", content: "Be brief." }, ...hello],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(sent[0]?.body).toMatchObject({ model: "claude-haiku-4-5", system: "Be brief.", stream: true });
    const chunks = parseSse(await res.text())
      .filter((e) => e.data !== "[DONE]")
      .map((e) => JSON.parse(e.data) as Chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from Claude.");
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
    expect(chunks.every((c) => c.model === "anthropic:claude-haiku-4-5")).toBe(true);
  });
});

// The providers' keys and hosts must not reach a client either.
const GATEWAY_LEAKS = [...LEAKS, UPSTREAM.OPENAI_API_KEY, UPSTREAM.ANTHROPIC_API_KEY, "fake-openai", "fake-anthropic"];
const LEAKY_MESSAGE = leakyMessage(UPSTREAM.OPENAI_API_KEY);
const jsonError = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("the upstream's own words never reach the client", () => {
  it.each([
    [
      "openai:gpt-4o-mini",
      { error: { message: LEAKY_MESSAGE, type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } },
      "openai refused the request as invalid (upstream code: context_length_exceeded).",
    ],
    [
      "anthropic:claude-haiku-4-5",
      { type: "error", error: { type: "invalid_request_error", message: LEAKY_MESSAGE }, request_id: "req_1" },
      "anthropic refused the request as invalid (upstream code: invalid_request_error).",
    ],
  ])("%s: an upstream 400 is an envelope with a fixed message and the upstream's code, streamed or not", async (model, body, expected) => {
    fakeUpstream(() => jsonError(400, body));
    for (const stream of [false, true]) {
      const { res } = await viaConfigured("/v1/ai/chat/completions", { model, messages: hello, stream });
      const text = await res.clone().text();
      for (const leak of GATEWAY_LEAKS) expect(text).not.toContain(leak);
      const error = await expectError(res, 400, { type: "invalid_request", code: "provider.rejected" });
      expect(error.message).toBe(expected);
    }
  });

  it("a hostile upstream code (spaces, a URL, 200 characters) is left out of the envelope", async () => {
    for (const code of ["please see the docs", INTERNAL_URL, "x".repeat(200)]) {
      fakeUpstream(() => jsonError(400, { error: { message: "Bad request.", type: code, param: null, code } }));
      const { res } = await viaConfigured("/v1/ai/chat/completions", { model: "openai:gpt-4o-mini", messages: hello });
      const error = await expectError(res, 400, { type: "invalid_request", code: "provider.rejected" });
      expect(error.message).toBe("openai refused the request as invalid.");
    }
  });

  it.each([
    [
      "openai:gpt-4o-mini",
      [
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "Half" }, finish_reason: null }] })}\n\n`,
        `data: ${JSON.stringify({ error: { message: LEAKY_MESSAGE, type: "server_error", param: null, code: "server_overloaded" } })}\n\n`,
      ],
      "openai broke off the stream (upstream code: server_overloaded); try again shortly.",
    ],
    [
      "anthropic:claude-haiku-4-5",
      [
        `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } })}\n\n`,
        `event: content_block_start\ndata: ${JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })}\n\n`,
        `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Half" } })}\n\n`,
        `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: LEAKY_MESSAGE } })}\n\n`,
      ],
      "anthropic broke off the stream (upstream code: overloaded_error); try again shortly.",
    ],
  ])("%s: an error mid-stream is an `event: error` frame with a fixed message and the upstream's code", async (model, frames, expected) => {
    fakeUpstream(() => sseResponse(trickle(frames).body));
    const { res } = await viaConfigured("/v1/ai/chat/completions", { model, messages: hello, stream: true });
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const leak of GATEWAY_LEAKS) expect(text).not.toContain(leak);
    const events = parseSse(text);
    expect(events.some((e) => e.data.includes('"content":"Half"'))).toBe(true);
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(events.at(-2)?.event).toBe("error");
    expect(JSON.parse(events.at(-2)?.data ?? "{}")).toMatchObject({ error: { type: "service_unavailable", code: "provider.unavailable", message: expected } });
  });
});
