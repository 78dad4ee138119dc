import { afterEach, describe, expect, it, vi } from "vitest";
import { groq, openai } from "../src/providers/llm/openai";
import type { ChatEvent, ChatRequest, LlmProvider, ToolCall } from "../src/providers/llm/types";
import { CallerGone } from "../src/providers/upstream";
import { hostileCodes, INTERNAL_URL, LEAKS, leakyMessage } from "./helpers/leaks";
import {
  collect,
  deployment,
  type FakeBody,
  fakeUpstream,
  noAnswer,
  providerContext,
  type Step,
  sleep,
  type TrickleOptions,
  trickle,
  typedErrors,
  unreachable,
  watchLogs,
} from "./helpers/upstream-harness";

/**
 * The OpenAI-compatible providers against fake upstreams that speak the documented wire format
 * (reference/upstreams.md §3, §4), played through the provider test harness.
 */

const OPENAI_KEY = "sk-test-secret-123456";
const GROQ_KEY = "gsk_test_secret_123456";
const SETTINGS = {
  OPENAI_API_KEY: OPENAI_KEY,
  OPENAI_BASE_URL: "https://fake-openai.test/v1",
  GROQ_API_KEY: GROQ_KEY,
  GROQ_BASE_URL: "https://fake-groq.test/openai/v1",
  LLM_FIRST_BYTE_TIMEOUT_MS: "200",
  LLM_STREAM_IDLE_TIMEOUT_MS: "300",
};
const CONFIG = deployment(SETTINGS);
const SLASHED_CONFIG = deployment({
  ...SETTINGS,
  OPENAI_BASE_URL: "https://fake-openai.test/v1/",
  GROQ_BASE_URL: "https://fake-groq.test/openai/v1/",
});
const UNCONFIGURED = deployment({ ...SETTINGS, OPENAI_API_KEY: "", GROQ_API_KEY: "" });

const FIRST_BYTE_MS = 200;
const IDLE_MS = 300;
/** What must never show up in an error message or a log line. */
const SECRETS = [OPENAI_KEY, GROQ_KEY, "fake-openai.test", "fake-groq.test"];

interface Case {
  provider: LlmProvider;
  key: string;
  host: string;
  url: string;
  model: string;
  maxTokensField: string;
  otherMaxTokensField: string;
}
const OPENAI: Case = {
  provider: openai,
  key: OPENAI_KEY,
  host: "fake-openai.test",
  url: "https://fake-openai.test/v1/chat/completions",
  model: "gpt-4o",
  maxTokensField: "max_completion_tokens",
  otherMaxTokensField: "max_tokens",
};
const GROQ: Case = {
  provider: groq,
  key: GROQ_KEY,
  host: "fake-groq.test",
  url: "https://fake-groq.test/openai/v1/chat/completions",
  model: "llama-3.3-70b-versatile",
  maxTokensField: "max_tokens",
  otherMaxTokensField: "max_completion_tokens",
};
const CASES = [OPENAI, GROQ].map((c) => [c.provider.id, c] as const);

afterEach(() => vi.restoreAllMocks());
// Upstream failures are logged; the keys must not be, whatever happened.
const logs = watchLogs([OPENAI_KEY, GROQ_KEY]);
const { apiErrorOf } = typedErrors(SECRETS);

const context = (signal?: AbortSignal, config = CONFIG) => providerContext(config, signal);

const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const request = (c: Case, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: c.model,
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Say hello." },
  ],
  ...extra,
});

// ---------------------------------------------------------------------------------------------
// The upstreams' answers

const OPENAI_HEADERS = { "x-request-id": "req_8f1f2a", "openai-processing-ms": "212", "openai-version": "2020-10-01" };

const jsonAnswer = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...OPENAI_HEADERS, ...headers } });

const errorBody = (message: string, type: string, code: string | null) => ({ error: { message, type, param: null, code } });

const frame = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`;
const DONE = "data: [DONE]\n\n";

/** A streamed answer: `text/event-stream` with `data: {...}` frames. */
function sseStream(frames: readonly Step[], options: TrickleOptions = {}): FakeBody & { response: Response } {
  const fake = trickle(frames, options);
  return { ...fake, response: new Response(fake.body, { headers: { "content-type": "text/event-stream; charset=utf-8", ...OPENAI_HEADERS } }) };
}

/** OpenAI's chunk: every one repeats id, created and model, and carries `usage: null` when usage was asked for. */
const openaiChunk = (choice: Record<string, unknown> | null, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-ABfvaueLEMLNYbT8YzpJxsmiQ6HSY",
  object: "chat.completion.chunk",
  created: 1727346168,
  model: "gpt-4o-2024-08-06",
  system_fingerprint: "fp_b40fb1c6fb",
  choices: choice ? [{ index: 0, logprobs: null, finish_reason: null, ...choice }] : [],
  usage: null,
  ...extra,
});

/** Groq's chunk: OpenAI's plus `x_groq`, whose last one carries the usage. */
const groqChunk = (choice: Record<string, unknown>, x_groq: Record<string, unknown> = {}) => ({
  id: "chatcmpl-5f0e6b2c-6d1e-4a0e-9b3d-2f3b7a1c9e11",
  object: "chat.completion.chunk",
  created: 1727346168,
  model: "llama-3.3-70b-versatile",
  system_fingerprint: "fp_c5356a6c1b",
  choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }],
  x_groq: { id: "req_01jz3kq7c8f9s0t1u2v3w4x5y6", ...x_groq },
});

const GROQ_USAGE = {
  queue_time: 0.021,
  prompt_tokens: 18,
  prompt_time: 0.0031,
  completion_tokens: 3,
  completion_time: 0.0102,
  total_tokens: 21,
  total_time: 0.0133,
};

/** "Hello, world!" in four deltas, as OpenAI streams it with include_usage. */
const OPENAI_TEXT_FRAMES = [
  frame(openaiChunk({ delta: { role: "assistant", content: "", refusal: null } })),
  frame(openaiChunk({ delta: { content: "Hel" } })),
  frame(openaiChunk({ delta: { content: "lo" } })),
  frame(openaiChunk({ delta: { content: ", world" } })),
  frame(openaiChunk({ delta: { content: "!" } })),
  frame(openaiChunk({ delta: {}, finish_reason: "stop" })),
  frame(openaiChunk(null, { usage: { prompt_tokens: 14, completion_tokens: 4, total_tokens: 18, completion_tokens_details: { reasoning_tokens: 0 } } })),
  DONE,
];

const GROQ_TEXT_FRAMES = [
  frame(groqChunk({ delta: { role: "assistant", content: "" } })),
  frame(groqChunk({ delta: { content: "Hel" } })),
  frame(groqChunk({ delta: { content: "lo" } })),
  frame(groqChunk({ delta: { content: ", world" } })),
  frame(groqChunk({ delta: { content: "!" } })),
  frame(groqChunk({ delta: {}, finish_reason: "stop" }, { usage: GROQ_USAGE })),
  DONE,
];

const TEXT_FRAMES = (c: Case) => (c === OPENAI ? OPENAI_TEXT_FRAMES : GROQ_TEXT_FRAMES);
const TEXT_USAGE = (c: Case) =>
  c === OPENAI ? { prompt_tokens: 14, completion_tokens: 4, total_tokens: 18 } : { prompt_tokens: 18, completion_tokens: 3, total_tokens: 21 };

/** Two parallel tool calls whose arguments arrive in fragments, as OpenAI sends them. */
const TOOL_CALL_FRAMES = [
  frame(
    openaiChunk({
      delta: {
        role: "assistant",
        content: null,
        tool_calls: [{ index: 0, id: "call_Paris01", type: "function", function: { name: "get_weather", arguments: "" } }],
      },
    }),
  ),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] } })),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: 'ty": "Par' } }] } })),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] } })),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 1, id: "call_Tokyo02", type: "function", function: { name: "get_weather", arguments: "" } }] } })),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 1, function: { arguments: '{"city"' } }] } })),
  frame(openaiChunk({ delta: { tool_calls: [{ index: 1, function: { arguments: ': "東京"}' } }] } })),
  frame(openaiChunk({ delta: {}, finish_reason: "tool_calls" })),
  frame(openaiChunk(null, { usage: { prompt_tokens: 80, completion_tokens: 40, total_tokens: 120 } })),
  DONE,
];

// ---------------------------------------------------------------------------------------------
// Consumers

const textOf = (events: ChatEvent[]) => events.map((e) => (e.type === "delta" ? (e.content ?? "") : "")).join("");

/** What a consumer does with tool-call fragments: concatenate them per index. */
function reassemble(events: ChatEvent[]): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const event of events) {
    if (event.type !== "delta") continue;
    for (const d of event.tool_calls ?? []) {
      calls[d.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
      const call = calls[d.index] as ToolCall;
      if (d.id) call.id = d.id;
      if (d.function?.name) call.function.name += d.function.name;
      call.function.arguments += d.function?.arguments ?? "";
    }
  }
  return calls;
}

// ---------------------------------------------------------------------------------------------

describe("catalogue", () => {
  it("lists OpenAI's and Groq's models with their limits, ids prefixed by provider", () => {
    expect(openai).toMatchObject({ id: "openai", name: "OpenAI" });
    expect(groq).toMatchObject({ id: "groq", name: "Groq" });
    const row = (p: LlmProvider) =>
      p.models.map((m) => [m.id, m.name, m.context_window, m.max_output_tokens, m.capabilities.streaming, m.capabilities.tools, m.capabilities.vision]);
    expect(row(openai)).toEqual([
      ["openai:gpt-4o", "gpt-4o", 128000, 16384, true, true, true],
      ["openai:gpt-4o-mini", "gpt-4o-mini", 128000, 16384, true, true, true],
      ["openai:gpt-4.1", "gpt-4.1", 1047576, 32768, true, true, true],
      ["openai:gpt-4.1-mini", "gpt-4.1-mini", 1047576, 32768, true, true, true],
      ["openai:gpt-4.1-nano", "gpt-4.1-nano", 1047576, 32768, true, true, true],
    ]);
    expect(row(groq)).toEqual([
      ["groq:llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 131072, 32768, true, true, false],
      ["groq:llama-3.1-8b-instant", "llama-3.1-8b-instant", 131072, 131072, true, true, false],
      ["groq:openai/gpt-oss-120b", "openai/gpt-oss-120b", 131072, 65536, true, true, false],
      ["groq:meta-llama/llama-4-scout-17b-16e-instruct", "meta-llama/llama-4-scout-17b-16e-instruct", 131072, 8192, true, true, true],
    ]);
  });

  it.each(CASES)("%s is configured exactly when its key is set, and never calls out without one", async (_id, c) => {
    expect(c.provider.configured(CONFIG)).toBe(true);
    expect(c.provider.configured(UNCONFIGURED)).toBe(false);
    const sent = fakeUpstream(() => jsonAnswer({}));
    await apiErrorOf(c.provider.complete(request(c), context(undefined, UNCONFIGURED)), "provider.not_configured");
    expect(sent).toHaveLength(0);
  });
});

describe.each(CASES)("%s: the request", (_id, c) => {
  const answer = () =>
    jsonAnswer({
      choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });

  it("POSTs JSON to {baseUrl}/chat/completions with the Bearer key and OpenAI's field names", async () => {
    const sent = fakeUpstream(answer);
    const full = request(c, {
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 256,
      stop: ["\n\n"],
      tools: [WEATHER_TOOL],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: { type: "json_object" },
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      user: "user_42",
      seed: 7,
    });
    await c.provider.complete(full, context());
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req?.url).toBe(c.url);
    expect(req?.method).toBe("POST");
    expect(req?.headers.get("authorization")).toBe(`Bearer ${c.key}`);
    expect(req?.headers.get("content-type")).toBe("application/json");
    expect(req?.body).toEqual({
      model: c.model,
      messages: full.messages,
      temperature: 0.2,
      top_p: 0.9,
      [c.maxTokensField]: 256,
      stop: ["\n\n"],
      tools: [WEATHER_TOOL],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: { type: "json_object" },
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      user: "user_42",
      seed: 7,
    });
    expect(req?.body).not.toHaveProperty(c.otherMaxTokensField);
  });

  it("leaves out what the request does not set, and asks for no stream when completing", async () => {
    const sent = fakeUpstream(answer);
    await c.provider.complete(request(c, { temperature: undefined }), context());
    expect(Object.keys(sent[0]?.body ?? {}).sort()).toEqual(["messages", "model"]);
  });

  it("asks for a stream with usage included when streaming", async () => {
    const sent = fakeUpstream(() => sseStream(TEXT_FRAMES(c)).response);
    await collect(await c.provider.stream(request(c, { max_tokens: 64 }), context()));
    expect(sent[0]?.body).toEqual({
      model: c.model,
      messages: request(c).messages,
      [c.maxTokensField]: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("joins a base URL that ends with a slash without doubling it", async () => {
    const sent = fakeUpstream(answer);
    await c.provider.complete(request(c), context(undefined, SLASHED_CONFIG));
    expect(sent[0]?.url).toBe(c.url);
  });
});

describe.each(CASES)("%s: complete()", (_id, c) => {
  it("returns the text, finish reason and usage", async () => {
    fakeUpstream(() =>
      jsonAnswer({
        id: "chatcmpl-ABfvaueLEMLNYbT8YzpJxsmiQ6HSY",
        object: "chat.completion",
        created: 1727346142,
        model: "gpt-4o-2024-08-06",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello there.", refusal: null }, logprobs: null, finish_reason: "length" }],
        usage: { prompt_tokens: 14, completion_tokens: 37, total_tokens: 51, completion_tokens_details: { reasoning_tokens: 0 } },
        system_fingerprint: "fp_b40fb1c6fb",
      }),
    );
    expect(await c.provider.complete(request(c), context())).toEqual({
      message: { role: "assistant", content: "Hello there." },
      finish_reason: "length",
      usage: { prompt_tokens: 14, completion_tokens: 37, total_tokens: 51 },
    });
  });

  it("returns tool calls with their JSON arguments", async () => {
    const toolCalls = [
      { id: "call_Paris01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_Tokyo02", type: "function", function: { name: "get_weather", arguments: '{"city":"東京"}' } },
    ];
    fakeUpstream(() =>
      jsonAnswer({
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: toolCalls }, finish_reason: "tool_calls" }],
        usage: { prompt_tokens: 80, completion_tokens: 40, total_tokens: 120, queue_time: 0.02, total_time: 0.1 },
      }),
    );
    const result = await c.provider.complete(request(c, { tools: [WEATHER_TOOL] }), context());
    expect(result).toEqual({
      message: { role: "assistant", content: null, tool_calls: toolCalls },
      finish_reason: "tool_calls",
      usage: { prompt_tokens: 80, completion_tokens: 40, total_tokens: 120 },
    });
  });

  it("reports zero usage when the upstream reports none", async () => {
    fakeUpstream(() => jsonAnswer({ choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] }));
    expect((await c.provider.complete(request(c), context())).usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it.each([
    ["no choices", { object: "chat.completion", choices: [] }],
    ["a choice without a message", { choices: [{ index: 0, finish_reason: "stop" }] }],
    [
      "a tool call without a name",
      { choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: {} }] } }] },
    ],
  ])("an answer with %s is provider.unavailable", async (_what, body) => {
    fakeUpstream(() => jsonAnswer(body));
    const err = await apiErrorOf(c.provider.complete(request(c), context()), "provider.unavailable");
    expect(err.message).toBe(`${c.provider.id} answered a body that could not be read; try again shortly.`);
  });
});

describe.each(CASES)("%s: stream()", (_id, c) => {
  it("yields the deltas in order, then one finish, then usage", async () => {
    fakeUpstream(() => sseStream(TEXT_FRAMES(c)).response);
    const events = await collect(await c.provider.stream(request(c), context()));
    expect(events).toEqual([
      { type: "delta", content: "Hel" },
      { type: "delta", content: "lo" },
      { type: "delta", content: ", world" },
      { type: "delta", content: "!" },
      { type: "finish", finish_reason: "stop" },
      { type: "usage", usage: TEXT_USAGE(c) },
    ]);
  });

  it("passes tool-call fragments through so they reassemble into the calls", async () => {
    fakeUpstream(() => sseStream(TOOL_CALL_FRAMES).response);
    const events = await collect(await c.provider.stream(request(c, { tools: [WEATHER_TOOL] }), context()));
    expect(events[0]).toEqual({
      type: "delta",
      tool_calls: [{ index: 0, id: "call_Paris01", type: "function", function: { name: "get_weather", arguments: "" } }],
    });
    expect(events[1]).toEqual({ type: "delta", tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] });
    const calls = reassemble(events);
    expect(calls.map((call) => [call.id, call.function.name, JSON.parse(call.function.arguments)])).toEqual([
      ["call_Paris01", "get_weather", { city: "Paris" }],
      ["call_Tokyo02", "get_weather", { city: "東京" }],
    ]);
    expect(events.slice(-2)).toEqual([
      { type: "finish", finish_reason: "tool_calls" },
      { type: "usage", usage: { prompt_tokens: 80, completion_tokens: 40, total_tokens: 120 } },
    ]);
  });

  it("hands the first delta on before the upstream has written its last chunk", async () => {
    const frames = TEXT_FRAMES(c);
    const fake = sseStream(frames, { pauseMs: 40 });
    fakeUpstream(() => fake.response);
    const events: ChatEvent[] = [];
    let enqueuedAtFirstDelta = -1;
    for await (const event of await c.provider.stream(request(c), context())) {
      if (events.length === 0) enqueuedAtFirstDelta = fake.enqueued();
      events.push(event);
    }
    // The first text chunk is the second frame; four more frames were still to come.
    expect(enqueuedAtFirstDelta).toBeGreaterThanOrEqual(2);
    expect(enqueuedAtFirstDelta).toBeLessThan(frames.length);
    expect(textOf(events)).toBe("Hello, world!");
  });

  it("accepts an answer that ends after its finish reason without [DONE]", async () => {
    fakeUpstream(() => sseStream(TEXT_FRAMES(c).slice(0, -1)).response);
    const events = await collect(await c.provider.stream(request(c), context()));
    expect(textOf(events)).toBe("Hello, world!");
    expect(events.slice(-2)).toEqual([
      { type: "finish", finish_reason: "stop" },
      { type: "usage", usage: TEXT_USAGE(c) },
    ]);
  });

  it("reads [DONE] without a finish reason as a stop, and reports no usage it was not given", async () => {
    fakeUpstream(() => sseStream([frame(openaiChunk({ delta: { content: "Hi" } })), DONE]).response);
    expect(await collect(await c.provider.stream(request(c), context()))).toEqual([
      { type: "delta", content: "Hi" },
      { type: "finish", finish_reason: "stop" },
    ]);
  });

  it("cancels the upstream body when the consumer stops early", async () => {
    const fake = sseStream(TEXT_FRAMES(c), { pauseMs: 30 });
    fakeUpstream(() => fake.response);
    for await (const event of await c.provider.stream(request(c), context())) {
      expect(event).toEqual({ type: "delta", content: "Hel" });
      expect(fake.cancelled()).toBe(false);
      break;
    }
    expect(fake.cancelled()).toBe(true);
    const enqueued = fake.enqueued();
    await sleep(100);
    expect(fake.enqueued()).toBe(enqueued);
  });

  it("after [DONE] reads the rest of the body rather than cancelling it, so its connection can be reused", async () => {
    let end = () => {};
    const rest = new Promise<void>((resolve) => (end = resolve));
    // The body's end comes after [DONE], as the last bytes of a chunked body can.
    const fake = sseStream([...TEXT_FRAMES(c), rest]);
    fakeUpstream(() => fake.response);
    const events = await collect(await c.provider.stream(request(c), context()));
    // The answer was whole at [DONE]: it did not wait for the body's end.
    expect(textOf(events)).toBe("Hello, world!");
    expect(fake.closed()).toBe(false);
    end();
    await vi.waitFor(() => expect(fake.closed()).toBe(true));
    expect(fake.cancelled()).toBe(false);
  });

  it("after [DONE] lets go of a body that stays open (within a second) or keeps writing (past 64 KiB)", async () => {
    const open = sseStream(TEXT_FRAMES(c), { end: "hang" });
    fakeUpstream(() => open.response);
    const started = Date.now();
    expect(textOf(await collect(await c.provider.stream(request(c), context())))).toBe("Hello, world!");
    expect(open.cancelled()).toBe(false);
    await vi.waitFor(() => expect(open.cancelled()).toBe(true), { timeout: 3000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const kib = "x".repeat(1024);
    const chatty = sseStream([...TEXT_FRAMES(c), ...Array.from({ length: 200 }, () => kib)], { onRead: true });
    fakeUpstream(() => chatty.response);
    expect(textOf(await collect(await c.provider.stream(request(c), context())))).toBe("Hello, world!");
    await vi.waitFor(() => expect(chatty.cancelled()).toBe(true));
    expect(chatty.enqueued() - TEXT_FRAMES(c).length).toBeLessThan(80);
  });

  it("cancels the upstream body when the consumer gives the iterator back before reading", async () => {
    const fake = sseStream(TEXT_FRAMES(c), { pauseMs: 30 });
    fakeUpstream(() => fake.response);
    const iterator = (await c.provider.stream(request(c), context()))[Symbol.asyncIterator]();
    expect(fake.cancelled()).toBe(false);
    await iterator.return?.();
    expect(fake.cancelled()).toBe(true);
  });

  it("aborting the caller's signal aborts the upstream request and ends the iterator", async () => {
    const caller = new AbortController();
    const sent = fakeUpstream((req) => sseStream(TEXT_FRAMES(c), { pauseMs: 30, signal: req.signal }).response);
    const iterator = (await c.provider.stream(request(c), context(caller.signal)))[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: "delta", content: "Hel" } });
    expect(sent[0]?.signal?.aborted).toBe(false);
    caller.abort();
    expect(sent[0]?.signal?.aborted).toBe(true);
    await expect(iterator.next()).rejects.toBeInstanceOf(CallerGone);
    // The caller left: that is not the provider's failure, so nothing is logged as one.
    expect(logs.lines()).toEqual([]);
  });

  it("aborting the caller's signal while the answer is read rejects complete() with CallerGone, not a provider failure", async () => {
    const caller = new AbortController();
    // Headers and the start of the JSON arrive, then the upstream dawdles.
    const sent = fakeUpstream((req) => {
      const { body } = trickle(['{"id":"chatcmpl-1","object":"chat.completion","choices":['], { signal: req.signal, end: "hang" });
      return new Response(body, { headers: { "content-type": "application/json", ...OPENAI_HEADERS } });
    });
    const completion = c.provider.complete(request(c), context(caller.signal));
    await sleep(50);
    expect(sent[0]?.signal?.aborted).toBe(false);
    caller.abort();
    await expect(completion).rejects.toBeInstanceOf(CallerGone);
    expect(sent[0]?.signal?.aborted).toBe(true);
    expect(logs.lines()).toEqual([]);
  });
});

describe.each(CASES)("%s: failures", (_id, c) => {
  it("429 with retry-after is provider.rate_limited with Retry-After", async () => {
    fakeUpstream(() =>
      jsonAnswer(
        errorBody(
          `Rate limit reached for model ${c.model} on tokens per minute (TPM): Limit 15000, Used 11972, Requested 4351. Please try again in 5.289s.`,
          "tokens",
          "rate_limit_exceeded",
        ),
        429,
        { "retry-after": "6", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "5.289s" },
      ),
    );
    const err = await apiErrorOf(c.provider.complete(request(c), context()), "provider.rate_limited");
    expect(err.status).toBe(429);
    expect(err.headers).toEqual({ "Retry-After": "6" });
  });

  it("400 is provider.rejected with a fixed text and the upstream's code; its reason goes to the log only", async () => {
    const message = `Invalid value for 'temperature': must be <= 2 (key ${c.key}). See https://${c.host}/v1/docs or ask ${c.host}.`;
    fakeUpstream(() => jsonAnswer(errorBody(message, "invalid_request_error", "invalid_value"), 400));
    const err = await apiErrorOf(c.provider.complete(request(c, { temperature: 3 }), context()), "provider.rejected");
    expect(err.status).toBe(400);
    expect(err.message).toBe(`${c.provider.id} refused the request as invalid (upstream code: invalid_value).`);
    expect(logs.refusedDetail()).toContain("Invalid value for 'temperature': must be <= 2");
  });

  it.each([
    [
      401,
      errorBody(
        "Incorrect API key provided: sk-abc***. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
      ),
      "did not accept this deployment's credentials (HTTP 401, upstream code: invalid_api_key); the operator of this deployment must check its account there.",
    ],
    [
      404,
      errorBody("The model `gpt-9` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
      "does not know the requested model (HTTP 404, upstream code: model_not_found); use another.",
    ],
    [
      500,
      errorBody("The server had an error while processing your request. Sorry about that!", "server_error", null),
      "failed with a server error (HTTP 500, upstream code: server_error); try again shortly.",
    ],
    [
      503,
      errorBody("The engine is currently overloaded, please try again later.", "server_error", null),
      "is temporarily unavailable (HTTP 503, upstream code: server_error); try again shortly.",
    ],
  ])("%i is provider.unavailable (503), for streams too", async (status, body, expected) => {
    fakeUpstream(() => jsonAnswer(body, status));
    const completeError = await apiErrorOf(c.provider.complete(request(c), context()), "provider.unavailable");
    expect(completeError.status).toBe(503);
    expect(completeError.message).toBe(`${c.provider.id} ${expected}`);
    expect(completeError.message).not.toContain(body.error.message);
    await apiErrorOf(c.provider.stream(request(c), context()), "provider.unavailable");
  });

  it("a network failure is provider.unavailable", async () => {
    unreachable(new TypeError(`connect ECONNREFUSED fake-openai.test:443 (${c.key})`));
    const err = await apiErrorOf(c.provider.complete(request(c), context()), "provider.unavailable");
    expect(err.message).toBe(`${c.provider.id} could not be reached; try again shortly.`);
  });

  it("a 200 whose body is not JSON is provider.unavailable", async () => {
    fakeUpstream(() => new Response("<html>Bad gateway</html>", { headers: { "content-type": "text/html" } }));
    await apiErrorOf(c.provider.complete(request(c), context()), "provider.unavailable");
  });

  it("an upstream that never answers is provider.timeout after the first-byte timeout, and the request is aborted", async () => {
    const sent = fakeUpstream(noAnswer);
    const started = Date.now();
    const err = await apiErrorOf(c.provider.stream(request(c), context()), "provider.timeout");
    const elapsed = Date.now() - started;
    expect(err.status).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(FIRST_BYTE_MS - 10);
    expect(elapsed).toBeLessThan(FIRST_BYTE_MS + 1000);
    expect(sent[0]?.signal?.aborted).toBe(true);
  });

  it("a stream that stalls longer than the idle timeout throws provider.timeout and is cancelled", async () => {
    const fake = sseStream(TEXT_FRAMES(c).slice(0, 2), { end: "hang" });
    fakeUpstream(() => fake.response);
    const iterator = (await c.provider.stream(request(c), context()))[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: "delta", content: "Hel" } });
    const started = Date.now();
    await apiErrorOf(iterator.next(), "provider.timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 10);
    expect(fake.cancelled()).toBe(true);
  });

  it.each([
    [
      "an error event mid-stream",
      [frame(openaiChunk({ delta: { content: "Hel" } })), frame(errorBody("The server had an error while processing your request.", "server_error", null))],
      "broke off the stream (upstream code: server_error)",
    ],
    [
      "Groq's x_groq.error mid-stream",
      [frame(groqChunk({ delta: { content: "Hel" } })), frame(groqChunk({ delta: {} }, { error: "Service Unavailable" }))],
      "broke off the stream",
    ],
    [
      "a chunk that is not JSON",
      [frame(openaiChunk({ delta: { content: "Hel" } })), 'data: {"id":"chatcmpl-1","choices":[{"delta":\n\n', DONE],
      "broke off the stream",
    ],
    [
      "a malformed tool-call fragment",
      [frame(openaiChunk({ delta: { content: "Hel" } })), frame(openaiChunk({ delta: { tool_calls: [{ id: "x" }] } })), DONE],
      "broke off the stream",
    ],
    [
      "a stream cut off before its end",
      [frame(openaiChunk({ delta: { content: "Hel" } })), frame(openaiChunk({ delta: { content: "lo" } }))],
      "broke off the stream",
    ],
  ])("%s makes the iterator throw provider.unavailable after the deltas before it", async (_what, frames, expected) => {
    fakeUpstream(() => sseStream(frames).response);
    const events: ChatEvent[] = [];
    const failure = (async () => {
      for await (const event of await c.provider.stream(request(c), context())) events.push(event);
    })();
    const err = await apiErrorOf(failure, "provider.unavailable");
    expect(err.message).toBe(`${c.provider.id} ${expected}; try again shortly.`);
    expect(events[0]).toEqual({ type: "delta", content: "Hel" });
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(logs.lines()).not.toEqual([]);
  });
});

describe.each(CASES)("%s: the upstream's own words never reach the client", (_id, c) => {
  it("a 400 naming an internal host, a private address, a URL and a credential is a fixed text with the upstream's code", async () => {
    fakeUpstream(() => jsonAnswer(errorBody(leakyMessage(c.key), "invalid_request_error", "context_length_exceeded"), 400));
    for (const call of [c.provider.complete(request(c), context()), c.provider.stream(request(c), context())]) {
      const err = await apiErrorOf(call, "provider.rejected");
      expect(err.message).toBe(`${c.provider.id} refused the request as invalid (upstream code: context_length_exceeded).`);
      for (const leak of LEAKS) expect(err.message).not.toContain(leak);
    }
    // The words are the operator's: in the log, with the key taken out.
    expect(logs.refusedDetail()).toContain("could not route this request");
  });

  it.each([
    [413, "refused the request as too large (upstream code: request_too_large)."],
    [422, "refused the request as unprocessable (upstream code: request_too_large)."],
  ])("%i has its own fixed text", async (status, expected) => {
    fakeUpstream(() => jsonAnswer(errorBody(leakyMessage(c.key), "invalid_request_error", "request_too_large"), status));
    const err = await apiErrorOf(c.provider.complete(request(c), context()), "provider.rejected");
    expect(err.message).toBe(`${c.provider.id} ${expected}`);
  });

  it("without a code, the type stands in; with neither, the text is all", async () => {
    fakeUpstream(() => jsonAnswer({ error: { message: leakyMessage(c.key), type: "invalid_request_error", param: null, code: null } }, 400));
    expect((await apiErrorOf(c.provider.complete(request(c), context()), "provider.rejected")).message).toBe(
      `${c.provider.id} refused the request as invalid (upstream code: invalid_request_error).`,
    );
    vi.restoreAllMocks();
    fakeUpstream(() => jsonAnswer({ error: { message: leakyMessage(c.key) } }, 400));
    expect((await apiErrorOf(c.provider.complete(request(c), context()), "provider.rejected")).message).toBe(
      `${c.provider.id} refused the request as invalid.`,
    );
  });

  it.each(hostileCodes(c.key))("a code that is not a plain token (%s) is not echoed", async (_what, code) => {
    fakeUpstream(() => jsonAnswer(errorBody("Bad request.", code, code), 400));
    const err = await apiErrorOf(c.provider.complete(request(c), context()), "provider.rejected");
    expect(err.message).toBe(`${c.provider.id} refused the request as invalid.`);
    expect(err.message).not.toContain(code);
  });

  it("a mid-stream error: its code reaches the client, its words do not, and a hostile code does not either", async () => {
    const leaky = (code: string) => [frame(openaiChunk({ delta: { content: "Hel" } })), frame(errorBody(leakyMessage(c.key), "server_error", code))];
    fakeUpstream(() => sseStream(leaky("server_overloaded")).response);
    const first = await apiErrorOf(collectEvents(c.provider.stream(request(c), context())), "provider.unavailable");
    expect(first.message).toBe(`${c.provider.id} broke off the stream (upstream code: server_overloaded); try again shortly.`);
    for (const leak of LEAKS) expect(first.message).not.toContain(leak);
    vi.restoreAllMocks();
    fakeUpstream(() => sseStream(leaky(INTERNAL_URL)).response);
    const second = await apiErrorOf(collectEvents(c.provider.stream(request(c), context())), "provider.unavailable");
    expect(second.message).toBe(`${c.provider.id} broke off the stream; try again shortly.`);
  });
});

/** Every event of a stream, or its failure. */
async function collectEvents(stream: Promise<AsyncIterable<ChatEvent>>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of await stream) events.push(event);
  return events;
}
