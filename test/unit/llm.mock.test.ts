import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { getConfig } from "../../src/config";
import { ApiError, quote } from "../../src/lib/errors";
import { createLogger } from "../../src/lib/logger";
import type { ProviderContext } from "../../src/providers/context";
import { mock } from "../../src/providers/llm/mock";
import type { ChatEvent, ChatMessage, ChatRequest, ChatResult, ToolDefinition } from "../../src/providers/llm/types";

// ---------------------------------------------------------------------------------------------
// Helpers

/** The settings the Workers projects run with (test/vitest.config.ts provides them), with a pace. */
function ctx(intervalMs = 0, signal: AbortSignal = new AbortController().signal): ProviderContext {
  return { signal, config: getConfig({ ...inject("settings"), MOCK_LLM_WORD_INTERVAL_MS: String(intervalMs) }), log: createLogger() };
}

const user = (content: string): ChatMessage => ({ role: "user", content });

function request(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "echo", messages: [user(text)], ...extra };
}

const complete = (req: ChatRequest) => mock.complete(req, ctx());

async function reply(text: string, extra: Partial<ChatRequest> = {}): Promise<string> {
  const result = await complete(request(text, extra));
  if (typeof result.message.content !== "string") throw new Error("expected a text reply");
  return result.message.content;
}

/** The naive splitter the directives are designed for: a sentence ends at . ! ? before a space or the end. */
const sentences = (text: string) => text.split(/(?<=[.!?])(?:\s+|$)/).filter((s) => s.trim() !== "");

/** What abbreviations mode may contain; masking them lets the naive splitter count real sentences. */
const ABBREVIATION = /\b(?:Dr|Mrs|Mr|Ms|Prof|St|Jan|approx|vs|etc|e\.g|i\.e)\./;
const DECIMAL = /\d\.\d/;

const words = (text: string) => text.split(/\s+/).filter(Boolean);

async function collect(iterable: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const deltas = (events: readonly ChatEvent[]) => events.filter((e) => e.type === "delta");
const streamedText = (events: readonly ChatEvent[]) =>
  deltas(events)
    .map((e) => e.content ?? "")
    .join("");
const streamedArguments = (events: readonly ChatEvent[]) =>
  deltas(events)
    .flatMap((e) => e.tool_calls ?? [])
    .map((c) => c.function?.arguments ?? "")
    .join("");

const WEATHER: ToolDefinition = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a place.",
    parameters: {
      type: "object",
      properties: {
        location: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer", minimum: 1, maximum: 7 },
        detailed: { type: "boolean" },
        coordinates: {
          type: "object",
          properties: { lat: { type: "number" }, lon: { type: "number" }, label: { type: "string" } },
          required: ["lat", "lon"],
        },
        note: { type: "string" },
      },
      required: ["location", "unit", "days", "detailed", "coordinates"],
    },
  },
};

const TIME: ToolDefinition = {
  type: "function",
  function: {
    name: "get_time",
    parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] },
  },
};

const TOOLS = [WEATHER, TIME];

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems of `value` against the small JSON-schema subset the tests use (empty when it conforms). */
function schemaProblems(schema: Schema, value: unknown, path = "$"): string[] {
  if (Array.isArray(schema.enum)) return schema.enum.includes(value) ? [] : [`${path}: not in enum`];
  switch (schema.type) {
    case "object": {
      if (!isObject(value)) return [`${path}: not an object`];
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
      return required.flatMap((name) => {
        const child = properties[name];
        if (!(name in value)) return [`${path}.${name}: missing`];
        return isObject(child) ? schemaProblems(child, value[name], `${path}.${name}`) : [];
      });
    }
    case "string":
      return typeof value === "string" && value !== "" ? [] : [`${path}: not a non-empty string`];
    case "integer":
    case "number": {
      if (typeof value !== "number" || (schema.type === "integer" && !Number.isInteger(value))) return [`${path}: not a ${schema.type}`];
      if (typeof schema.minimum === "number" && value < schema.minimum) return [`${path}: below minimum`];
      if (typeof schema.maximum === "number" && value > schema.maximum) return [`${path}: above maximum`];
      return [];
    }
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path}: not a boolean`];
    case "array":
      return Array.isArray(value) && value.length > 0 && isObject(schema.items)
        ? value.flatMap((item, i) => schemaProblems(schema.items as Schema, item, `${path}[${i}]`))
        : [`${path}: not a non-empty array`];
    default:
      return [];
  }
}

function onlyCall(result: ChatResult) {
  expect(result.message.tool_calls).toHaveLength(1);
  const call = result.message.tool_calls?.[0];
  if (!call) throw new Error("no tool call");
  return call;
}

const PROMPTS = [
  "What is the capital of France?",
  "Tell me about photosynthesis in green plants",
  "hi",
  "My cat Biscuit keeps knocking glasses off the kitchen table. Any advice?",
  "Compare Rust and Go for writing command line utilities",
  "Summarise the plot of Hamlet",
];

// ---------------------------------------------------------------------------------------------

describe("mock provider: catalogue", () => {
  it("is the always-configured built-in with one model, mock:echo", () => {
    expect(mock.id).toBe("mock");
    expect(mock.name).toBe("Mock (built in)");
    expect(mock.models).toEqual([
      {
        id: "mock:echo",
        name: "echo",
        context_window: 32768,
        max_output_tokens: 4096,
        capabilities: { streaming: true, tools: true, vision: false },
      },
    ]);
    expect(mock.configured(ctx().config)).toBe(true);
  });

  it("refuses a model it does not have", async () => {
    const error = await complete({ ...request("Hello"), model: "gpt-4o" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("model.unknown");
  });
});

describe("mock provider: replies", () => {
  it("gives the same answer to the same request", async () => {
    for (const prompt of [...PROMPTS, "Tell me a story about lighthouses", "Reply with 9 sentences about trains"]) {
      const req = request(prompt, { seed: 7 });
      expect(await complete(req)).toEqual(await complete(structuredClone(req)));
    }
  });

  it("answers different input differently", async () => {
    const replies = await Promise.all(PROMPTS.map((p) => reply(p)));
    expect(new Set(replies).size).toBe(PROMPTS.length);
  });

  it("varies with the seed and the system message, which it never echoes", async () => {
    const bySeed = await Promise.all(Array.from({ length: 12 }, (_, seed) => reply("How do volcanoes form?", { seed })));
    expect(new Set(bySeed).size).toBeGreaterThan(1);

    const bySystem = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const result = await complete({
          model: "echo",
          messages: [{ role: "system", content: `You are assistant zorblax${i}.` }, user("How do volcanoes form?")],
        });
        return result.message.content ?? "";
      }),
    );
    expect(new Set(bySystem).size).toBeGreaterThan(1);
    for (const text of bySystem) expect(text).not.toMatch(/zorblax/);
  });

  it("answers the last user message", async () => {
    const result = await complete({
      model: "echo",
      messages: [user("Tell me about penguins"), { role: "assistant", content: "Penguins are birds." }, user("Tell me about glaciers")],
    });
    expect(result.message.content).toMatch(/glaciers/);
    expect(result.message.content).not.toMatch(/penguins/i);
  });

  it("reads text parts of a multi-part message", async () => {
    const result = await complete({
      model: "echo",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Tell me about" },
            { type: "text", text: "submarines" },
          ],
        },
      ],
    });
    expect(result.message.content).toMatch(/submarines/);
  });

  it("replies by default with 2 to 4 full sentences that echo the message", async () => {
    const counts = new Set<number>();
    for (const prompt of [...PROMPTS, "Describe the history of chess", "Why is the sky blue?", "Recommend a good novel"]) {
      const text = await reply(prompt);
      const found = sentences(text);
      counts.add(found.length);
      expect(found.length, text).toBeGreaterThanOrEqual(2);
      expect(found.length, text).toBeLessThanOrEqual(4);
      for (const sentence of found) expect(sentence).toMatch(/^[A-Z].*[.!?]$/);
    }
    expect(counts.size).toBeGreaterThan(1);
    expect(await reply("Tell me about photosynthesis")).toMatch(/photosynthesis/);
    expect(await reply("Describe the Sahara")).toMatch(/Sahara/);
  });

  it("replies with exactly one word when asked", async () => {
    for (const prompt of ["Reply with one word.", "In ONE WORD: how are you today?", "Answer with one word please", "Say one word about the weather"]) {
      const result = await complete(request(prompt));
      expect(result.message.content).toMatch(/^\p{L}+\.?$/u);
      expect(result.usage.completion_tokens).toBe(1);
      expect(result.finish_reason).toBe("stop");
    }
  });

  it("replies with exactly N sentences when asked", async () => {
    const cases: [string, number][] = [
      ["Reply with 1 sentence about cats.", 1],
      ["reply with 2 sentences about dogs", 2],
      ["Reply with three sentences about the moon", 3],
      ["Please answer in 5 short sentences: what is rain?", 5],
      ["REPLY WITH 7 SENTENCES about volcanoes", 7],
      ["Give me twelve sentences about trains", 12],
      ["Reply with twenty sentences on gardening", 20],
      ["Reply with 33 sentences about the ocean", 33],
      ["Reply with 50 sentences about history", 50],
    ];
    for (const [prompt, n] of cases) {
      const text = await reply(prompt);
      const found = sentences(text);
      expect(found, prompt).toHaveLength(n);
      for (const sentence of found) expect(sentence).toMatch(/^[A-Z].*[.!?]$/);
    }
  });

  it("ignores a sentence count outside 1 to 50", async () => {
    for (const prompt of ["Reply with 0 sentences about cats", "Reply with 51 sentences about dogs"]) {
      const count = sentences(await reply(prompt)).length;
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBeLessThanOrEqual(4);
    }
  });

  it("tells a long story of at least 20 sentences when asked", async () => {
    for (const prompt of ["Tell me a story about a dragon", "I would like a LONG STORY please", "tell me a story"]) {
      const text = await reply(prompt);
      expect(sentences(text).length, prompt).toBeGreaterThanOrEqual(20);
      expect(text.length).toBeGreaterThan(1500);
      expect(await reply(prompt)).toBe(text);
    }
    expect(await reply("Tell me a story about a dragon")).toMatch(/dragon/);
  });

  it("uses abbreviations and decimals only when asked for them", async () => {
    const cases: [string, number][] = [
      ["Reply with 6 sentences about rockets, using abbreviations", 6],
      ["Reply with 1 sentence with abbreviations", 1],
      ["Tell me a story with abbreviations about a lighthouse", 24],
    ];
    for (const [prompt, n] of cases) {
      const text = await reply(prompt);
      expect(text, prompt).toMatch(ABBREVIATION);
      expect(text, prompt).toMatch(DECIMAL);
      // Still exactly n real sentences, which a naive splitter over-counts: that is the test material.
      expect(sentences(text.replace(new RegExp(ABBREVIATION, "g"), (a) => a.replaceAll(".", "")).replace(/(\d)\.(\d)/g, "$1$2"))).toHaveLength(n);
      expect(sentences(text).length).toBeGreaterThan(n);
    }
    const plain = [...PROMPTS, "Reply with 50 sentences about physics", "Tell me a story about doctors", "Reply with 3 sentences about St Louis"];
    for (const prompt of plain) {
      const text = await reply(prompt);
      expect(text, prompt).not.toMatch(ABBREVIATION);
      expect(text, prompt).not.toMatch(DECIMAL);
    }
  });

  it("stops at max_tokens words with finish_reason length", async () => {
    const full = await complete(request("Reply with 10 sentences about oceans"));
    const cut = await complete(request("Reply with 10 sentences about oceans", { max_tokens: 5 }));
    expect(cut.finish_reason).toBe("length");
    expect(words(cut.message.content ?? "")).toHaveLength(5);
    expect(full.message.content?.startsWith(cut.message.content ?? "-")).toBe(true);
    expect(cut.usage.completion_tokens).toBe(5);

    const roomy = await complete(request("Reply with 10 sentences about oceans", { max_tokens: 1000 }));
    expect(roomy.finish_reason).toBe("stop");
    expect(roomy.message.content).toBe(full.message.content);
  });

  it("cuts the text before the first stop sequence", async () => {
    const prompt = "Reply with 4 sentences about bridges";
    const full = await reply(prompt);
    const firstEnd = full.search(/[.!?]/);

    const cut = await complete(request(prompt, { stop: ["?", ".", "!"] }));
    expect(cut.finish_reason).toBe("stop");
    expect(cut.message.content).toBe(full.slice(0, firstEnd));

    const secondWord = words(full)[1] ?? "";
    const atWord = await reply(prompt, { stop: ["nonexistent", ` ${secondWord}`] });
    expect(atWord).toBe(words(full)[0]);

    expect(await reply(prompt, { stop: ["zzz-not-there"] })).toBe(full);

    // The stop comes first, so it wins over a max_tokens that would cut later.
    const both = await complete(request(prompt, { stop: ["."], max_tokens: 200 }));
    expect(both.finish_reason).toBe("stop");
    expect(both.message.content).toBe(full.slice(0, firstEnd));
  });
});

describe("mock provider: tools", () => {
  it("calls a tool when tool_choice is required, with arguments that fit its schema", async () => {
    const result = await complete(request("What's the weather like in Paris right now?", { tools: TOOLS, tool_choice: "required" }));
    expect(result.finish_reason).toBe("tool_calls");
    expect(result.message.content).toBeNull();
    const call = onlyCall(result);
    expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    const args: unknown = JSON.parse(call.function.arguments);
    expect(schemaProblems(WEATHER.function.parameters ?? {}, args)).toEqual([]);
    expect(args).toMatchObject({ location: "Paris", unit: "celsius", detailed: true });
    expect(args).not.toHaveProperty("note");
  });

  it("calls the tool tool_choice names, even if the message names another", async () => {
    const result = await complete(request("Call get_weather for Tokyo", { tools: TOOLS, tool_choice: { type: "function", function: { name: "get_time" } } }));
    const call = onlyCall(result);
    expect(call.function.name).toBe("get_time");
    expect(JSON.parse(call.function.arguments)).toEqual({ timezone: "Tokyo" });
  });

  it("calls a tool the message asks for by name when the choice is auto", async () => {
    const cases: [string, ToolDefinition["function"]["name"]][] = [
      ["Please call get_time for Berlin", "get_time"],
      ["use get_weather to check Lisbon", "get_weather"],
      ["What would GET_WEATHER say about Oslo?", "get_weather"],
      ["Use a tool to find out about Rome", "get_weather"],
    ];
    for (const [prompt, name] of cases) {
      for (const tool_choice of [undefined, "auto"] as const) {
        const result = await complete(request(prompt, { tools: TOOLS, ...(tool_choice ? { tool_choice } : {}) }));
        expect(result.finish_reason, prompt).toBe("tool_calls");
        expect(onlyCall(result).function.name).toBe(name);
      }
    }
  });

  it("answers in words when no tool is asked for, or tool_choice is none", async () => {
    const unasked = await complete(request("What's the weather in Paris?", { tools: TOOLS }));
    expect(unasked.finish_reason).toBe("stop");
    expect(unasked.message.tool_calls).toBeUndefined();
    expect(sentences(unasked.message.content ?? "").length).toBeGreaterThanOrEqual(2);

    const none = await complete(request("Call get_weather for Paris", { tools: TOOLS, tool_choice: "none" }));
    expect(none.finish_reason).toBe("stop");
    expect(none.message.tool_calls).toBeUndefined();
    expect(none.message.content).toMatch(/[.!?]$/);

    const noTools = await complete(request("Call get_weather for Paris"));
    expect(noTools.message.tool_calls).toBeUndefined();
  });

  it("quotes the names it echoes in its messages: clipped, with control and bidi characters escaped", async () => {
    const hostile = `evil\u202E\n${"x".repeat(5_000)}`;
    const errors = [
      await complete({ ...request("Hi"), model: hostile }).catch((e: unknown) => e),
      await complete(request("Hi", { tools: [WEATHER], tool_choice: { type: "function", function: { name: hostile } } })).catch((e: unknown) => e),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(ApiError);
      const { message } = error as ApiError;
      expect(message).toContain(quote(hostile));
      expect(message).toContain("'evil\\u202e\\u000a");
      expect(message).not.toMatch(/[\u202E\n]/);
      expect(message.length).toBeLessThan(300);
    }
  });

  it("refuses a tool_choice that names no given tool", async () => {
    const error = await complete(request("Hi", { tools: [WEATHER], tool_choice: { type: "function", function: { name: "launch_rocket" } } })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("parameter.invalid");
  });

  it("fills nested, array and bounded parameters by type, deterministically", async () => {
    const tool: ToolDefinition = {
      type: "function",
      function: {
        name: "book_trip",
        parameters: {
          type: "object",
          properties: {
            travellers: {
              type: "array",
              items: {
                type: "object",
                properties: { name: { type: "string" }, age: { type: "integer", minimum: 18, maximum: 20 } },
                required: ["name", "age"],
              },
            },
            budget: { type: "number", minimum: 500, maximum: 900 },
            refundable: { type: "boolean" },
            class: { enum: ["economy", "business"] },
          },
          required: ["travellers", "budget", "refundable", "class"],
        },
      },
    };
    const req = request("book_trip to Madrid for Alice", { tools: [tool] });
    const call = onlyCall(await complete(req));
    const args: unknown = JSON.parse(call.function.arguments);
    expect(schemaProblems(tool.function.parameters ?? {}, args)).toEqual([]);
    expect(args).toMatchObject({ refundable: true, class: "economy" });
    expect(onlyCall(await complete(req))).toEqual(call);
  });

  it("answers a tool result in sentences that mention it", async () => {
    const messages: ChatMessage[] = [
      user("What's the weather in Paris? Call get_weather."),
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_abc", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }],
      },
      { role: "tool", tool_call_id: "call_abc", content: "Sunny and 21 degrees in Paris" },
    ];
    // The user's text still names the tool; after a result the model answers instead of calling again.
    const result = await complete({ model: "echo", messages, tools: TOOLS });
    expect(result.finish_reason).toBe("stop");
    const text = result.message.content ?? "";
    expect(text).toMatch(/Sunny and 21 degrees in Paris/);
    expect(text).toMatch(/get_weather/);
    for (const sentence of sentences(text)) expect(sentence).toMatch(/^[A-Z].*[.!?]$/);

    const json = await complete({
      model: "echo",
      messages: [...messages.slice(0, 2), { role: "tool", tool_call_id: "call_abc", content: '{"temperature":21,"conditions":"cloudy"}' }],
    });
    expect(json.message.content).toMatch(/temperature 21/);
    expect(json.message.content).toMatch(/conditions cloudy/);
  });
});

describe("mock provider: formats and usage", () => {
  it("answers a json_object request with a JSON object", async () => {
    const content = await reply("Tell me about comets", { response_format: { type: "json_object" } });
    const parsed: unknown = JSON.parse(content);
    expect(parsed).toEqual({ answer: expect.stringMatching(/comets.*[.!?]$/) });
  });

  it("answers a json_schema request with an object that fits the schema", async () => {
    const schema = {
      type: "object",
      properties: { title: { type: "string" }, rating: { type: "integer", minimum: 1, maximum: 5 }, tags: { type: "array", items: { type: "string" } } },
      required: ["title", "rating", "tags"],
    };
    const content = await reply("Review the film Casablanca", { response_format: { type: "json_schema", json_schema: { name: "review", schema } } });
    expect(schemaProblems(schema, JSON.parse(content))).toEqual([]);
  });

  it("counts words as tokens", async () => {
    const result = await complete({
      model: "echo",
      messages: [
        { role: "system", content: "You are terse." },
        user("Hello there friend"),
        { role: "assistant", content: "Hi." },
        user("Reply with 3 sentences about owls"),
      ],
    });
    expect(result.usage.prompt_tokens).toBe(3 + 3 + 1 + 6);
    expect(result.usage.completion_tokens).toBe(words(result.message.content ?? "").length);
    expect(result.usage.total_tokens).toBe(result.usage.prompt_tokens + result.usage.completion_tokens);

    const call = await complete(request("Call get_time", { tools: [TIME] }));
    // {"timezone":"example"}: two words, the key and the value.
    expect(JSON.parse(onlyCall(call).function.arguments)).toEqual({ timezone: "example" });
    expect(call.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  });
});

describe("mock provider: streaming", () => {
  const STREAMED: ChatRequest[] = [
    request("What is the capital of France?"),
    request("Tell me a story about a robot"),
    request("Reply with 7 sentences using abbreviations"),
    request("Reply with 10 sentences about oceans", { max_tokens: 12 }),
    request("Reply with 4 sentences about bridges", { stop: ["."] }),
    request("Reply with one word"),
    request("Tell me about comets", { response_format: { type: "json_object" } }),
    request("Tell me about comets", { max_tokens: 0 }),
    {
      model: "echo",
      messages: [
        user("weather?"),
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "Rain later. Bring a coat!" },
      ],
    },
  ];

  it("streams exactly the text complete() returns, word by word", async () => {
    for (const req of STREAMED) {
      const whole = await complete(req);
      const events = await collect(await mock.stream(req, ctx()));
      expect(streamedText(events)).toBe(whole.message.content);
      const pieces = deltas(events).map((e) => e.content ?? "");
      for (const [i, piece] of pieces.entries()) expect(piece).toMatch(i === 0 ? /^\S+$/ : /^\s\S+$/);
      expect(pieces).toHaveLength(whole.usage.completion_tokens);
    }
  });

  it("ends with one finish, then one usage, matching complete()", async () => {
    for (const req of STREAMED) {
      const whole = await complete(req);
      const events = await collect(await mock.stream(req, ctx()));
      const kinds = events.map((e) => e.type);
      expect(kinds.slice(-2)).toEqual(["finish", "usage"]);
      expect(kinds.slice(0, -2).every((k) => k === "delta")).toBe(true);
      expect(events.at(-2)).toEqual({ type: "finish", finish_reason: whole.finish_reason });
      expect(events.at(-1)).toEqual({ type: "usage", usage: whole.usage });
    }
  });

  it("streams a tool call as OpenAI-style deltas", async () => {
    const req = request("Call get_weather for Paris", { tools: TOOLS });
    const whole = onlyCall(await complete(req));
    const events = await collect(await mock.stream(req, ctx()));
    const [header, ...fragments] = deltas(events);
    expect(header).toEqual({
      type: "delta",
      tool_calls: [{ index: 0, id: whole.id, type: "function", function: { name: "get_weather", arguments: "" } }],
    });
    expect(fragments.length).toBeGreaterThanOrEqual(2);
    for (const fragment of fragments) {
      expect(fragment.content).toBeUndefined();
      expect(fragment.tool_calls).toEqual([{ index: 0, function: { arguments: expect.any(String) } }]);
    }
    expect(streamedArguments(events)).toBe(whole.function.arguments);
    expect(events.at(-2)).toEqual({ type: "finish", finish_reason: "tool_calls" });
  });

  it("throws a bad request at stream(), before any event", async () => {
    await expect(mock.stream({ ...request("Hi"), model: "nope" }, ctx())).rejects.toBeInstanceOf(ApiError);
  });
});

describe("mock provider: streaming pace and cancellation", () => {
  const INTERVAL_MS = 30;
  // Ten words, so nine pauses between them.
  const TEN_WORDS = request("Reply with 5 sentences about rivers", { max_tokens: 10 });

  // The pauses are timers: Vitest's fake ones, so every duration below is exact, on any machine.
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Whether `promise` has settled once the microtasks queued so far have run (no timer fires). */
  async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    void promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(0);
    return settled;
  }

  it("paces deltas by the configured interval, the first one at once", async () => {
    vi.useFakeTimers();
    const started = Date.now();
    const stream = await mock.stream(TEN_WORDS, ctx(INTERVAL_MS));
    const deltasAt: number[] = [];
    const consumed = (async () => {
      for await (const event of stream) if (event.type === "delta") deltasAt.push(Date.now() - started);
    })();
    await vi.runAllTimersAsync();
    await consumed;
    // Ten deltas, the first at once, then one every interval: 270 ms in all.
    expect(deltasAt).toEqual(Array.from({ length: 10 }, (_, i) => i * INTERVAL_MS));
  });

  it("stops at once when the signal aborts, even mid-pause, and yields nothing more", async () => {
    vi.useFakeTimers();
    // A long interval, so a pause that ignored the abort (and ran out its time) would show.
    const slowMs = 300;
    const controller = new AbortController();
    const iterator = (await mock.stream(TEN_WORDS, ctx(slowMs, controller.signal)))[Symbol.asyncIterator]();
    const seen: ChatEvent[] = [];
    for (let i = 0; i < 3; i++) {
      const next = iterator.next();
      await vi.advanceTimersByTimeAsync(slowMs);
      const result = await next;
      if (!result.done) seen.push(result.value);
    }
    expect(deltas(seen)).toHaveLength(3);

    // Abort while the stream is waiting before its fourth word, 5 ms into the 300 ms pause.
    const pending = iterator.next();
    await vi.advanceTimersByTimeAsync(5);
    expect(await settledAtOnce(pending)).toBe(false);
    controller.abort();
    // The pause ends with the abort: no more time passes, and its timer is gone.
    expect(await settledAtOnce(pending)).toBe(true);
    expect((await pending).done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect((await iterator.next()).done).toBe(true);
  });

  it("yields nothing when the signal aborted before the first word", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await collect(await mock.stream(TEN_WORDS, ctx(INTERVAL_MS, controller.signal)))).toEqual([]);
  });

  it("stops when the consumer returns early", async () => {
    vi.useFakeTimers();
    const iterator = (await mock.stream(TEN_WORDS, ctx(INTERVAL_MS)))[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const second = iterator.next();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect((await second).done).toBe(false);
    // return() is honoured where the generator waits (its yield): no pause has to run out first.
    const returned = iterator.return?.();
    expect(await settledAtOnce(Promise.resolve(returned))).toBe(true);
    expect(await returned).toEqual({ done: true, value: undefined });
    expect((await iterator.next()).done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("breaking out of for-await ends the stream", async () => {
    const stream = await mock.stream(TEN_WORDS, ctx(INTERVAL_MS));
    let count = 0;
    for await (const _ of stream) if (++count === 2) break;
    expect(count).toBe(2);
    // The same generator, already returned, has nothing more to give.
    expect(await collect(stream)).toEqual([]);
  });
});
