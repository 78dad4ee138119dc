import { afterEach, describe, expect, it, vi } from "vitest";
import { anthropic } from "../src/providers/llm/anthropic";
import type { ChatEvent, ChatRequest } from "../src/providers/llm/types";
import { CallerGone } from "../src/providers/upstream";
import { hostileCodes, INTERNAL_URL, LEAKS, leakyMessage } from "./helpers/leaks";
import {
  deployment,
  drain,
  type FakeBody,
  fakeUpstream,
  noAnswer,
  providerContext,
  rejection,
  type Step,
  trickle,
  typedErrors,
  unreachable,
  watchLogs,
} from "./helpers/upstream-harness";

/**
 * The Anthropic provider against a fake Messages API that speaks the real wire format (see
 * /work/shared/reference/upstreams.md §5): padded JSON in `event:`/`data:` frames, pings,
 * cumulative usage, Anthropic's error bodies and statuses, played through the provider test harness.
 */

afterEach(() => vi.restoreAllMocks());

const KEY = "sk-ant-test-secret-123456";
const BASE_URL = "https://fake-anthropic.test";
const HOST = "fake-anthropic.test";

// Upstream failures are logged; the key must not be, whatever happened.
const logs = watchLogs([KEY]);
/** The error is the typed one, and says nothing of the key or the upstream's host. */
const { expectApiError } = typedErrors([KEY, HOST]);

/** Timeouts short enough that a hang fails fast, long enough never to fire by accident. */
function context(settings: Record<string, string> = {}, signal = new AbortController().signal) {
  const config = deployment({
    ANTHROPIC_API_KEY: KEY,
    ANTHROPIC_BASE_URL: BASE_URL,
    LLM_FIRST_BYTE_TIMEOUT_MS: "3000",
    LLM_STREAM_IDLE_TIMEOUT_MS: "3000",
    ...settings,
  });
  return providerContext(config, signal);
}

// ---------------------------------------------------------------------------------------------
// Anthropic's answers

type Json = Record<string, unknown>;

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "request-id": "req_011CYK5n67", ...headers } });

const errorResponse = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
  jsonResponse(status, { type: "error", error: { type, message }, request_id: "req_011CYK5n67SytMUxm8WMZUWY" }, headers);

const USAGE = { input_tokens: 10, output_tokens: 41, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: "standard" };

const messageResponse = (content: unknown[], stopReason = "end_turn", usage: Json = USAGE) =>
  jsonResponse(200, {
    id: "msg_013nnniYDrJDocdy5nrMU7cH",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  });

const OK = () => messageResponse([{ type: "text", text: "Hi!" }]);

/** One event as the real server frames it: its JSON padded with spaces before the last brace. */
function sse(name: string, data: Json): string {
  const json = JSON.stringify(data);
  return `event: ${name}\ndata: ${json.slice(0, -1)}${" ".repeat(9)}}\n\n`;
}
const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
const messageStart = (usage: Json = { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }) =>
  sse("message_start", {
    type: "message_start",
    message: {
      id: "msg_01",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
const textStart = (index: number, text = "") => sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text } });
const toolStart = (index: number, id: string, name: string) =>
  sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id, name, input: {} } });
const textDelta = (index: number, text: string) => sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } });
const jsonDelta = (index: number, partial: string) =>
  sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: partial } });
const blockStop = (index: number) => sse("content_block_stop", { type: "content_block_stop", index });
const messageDelta = (stopReason: string, usage: Json) =>
  sse("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage });
const messageStop = sse("message_stop", { type: "message_stop" });

/** A recorded stream, byte for byte (anthropic-sdk-python test cassette, via the reference). */
const RECORDED = [
  "event: message_start",
  'data: {"type":"message_start","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_013nnniYDrJDocdy5nrMU7cH","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":135,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard","inference_geo":"not_available"}}   }',
  "",
  "event: content_block_start",
  'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}     }',
  "",
  "event: ping",
  'data: {"type": "ping"}',
  "",
  "event: content_block_delta",
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"["}             }',
  "",
  "event: content_block_stop",
  'data: {"type":"content_block_stop","index":0        }',
  "",
  "event: message_delta",
  'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":135,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}             }',
  "",
  "event: message_stop",
  'data: {"type":"message_stop"              }',
  "",
  "",
].join("\n");

/**
 * Streams `steps` (wire text, or a promise to wait for: the upstream pausing) as the answer to the
 * next requests. `end`: close after the last step (a complete answer) or stay open (a stalled one).
 * The upstream's body records whether it was cancelled and whether it got to its end.
 */
function fakeStream(steps: Step[], end: "close" | "hang" = "close") {
  let body: FakeBody | undefined;
  const sent = fakeUpstream((call) => {
    body = trickle(steps, { signal: call.signal, end });
    return new Response(body.body, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
  });
  const upstream = {
    get cancelled() {
      return body?.cancelled() ?? false;
    },
    get finished() {
      return body?.closed() ?? false;
    },
  };
  return { upstream, sent };
}

// ---------------------------------------------------------------------------------------------
// Helpers for outcomes

const ask = (messages: ChatRequest["messages"], extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "claude-sonnet-4-5", messages, ...extra });
const HELLO = ask([{ role: "user", content: "Hello" }]);

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<"too slow">((resolve) => setTimeout(() => resolve("too slow"), ms))]);

// ---------------------------------------------------------------------------------------------

describe("anthropic: the provider", () => {
  it("lists its models with their limits and capabilities", () => {
    expect(anthropic.id).toBe("anthropic");
    expect(anthropic.name).toBe("Anthropic");
    const all = { streaming: true, tools: true, vision: true };
    expect(anthropic.models).toEqual([
      { id: "anthropic:claude-sonnet-4-5", name: "claude-sonnet-4-5", context_window: 200000, max_output_tokens: 64000, capabilities: all },
      { id: "anthropic:claude-haiku-4-5", name: "claude-haiku-4-5", context_window: 200000, max_output_tokens: 64000, capabilities: all },
      { id: "anthropic:claude-opus-4-1", name: "claude-opus-4-1", context_window: 200000, max_output_tokens: 32000, capabilities: all },
    ]);
  });

  it("is configured exactly when the key is set; unconfigured calls fail without a request", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    expect(anthropic.configured(context().config)).toBe(true);
    const bare = context({ ANTHROPIC_API_KEY: "" });
    expect(anthropic.configured(bare.config)).toBe(false);
    expectApiError(await rejection(anthropic.complete(HELLO, bare)), "provider.not_configured");
    expectApiError(await rejection(anthropic.stream(HELLO, bare)), "provider.not_configured");
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("anthropic: the request", () => {
  it("is a POST to {base}/v1/messages with the key and API version, base URL with or without a trailing slash", async () => {
    const sent = fakeUpstream(OK);
    await anthropic.complete(HELLO, context());
    await anthropic.complete(HELLO, context({ ANTHROPIC_BASE_URL: `${BASE_URL}/` }));
    await anthropic.complete(HELLO, context({ ANTHROPIC_BASE_URL: "https://gateway.example/v1/acct/anthropic/" }));
    expect(sent.map((s) => s.url)).toEqual([`${BASE_URL}/v1/messages`, `${BASE_URL}/v1/messages`, "https://gateway.example/v1/acct/anthropic/v1/messages"]);
    const [first] = sent;
    expect(first?.method).toBe("POST");
    expect(first?.headers.get("x-api-key")).toBe(KEY);
    expect(first?.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(first?.headers.get("content-type")).toBe("application/json");
    expect(first?.headers.has("authorization")).toBe(false);
  });

  it("a plain request: the model, a default max_tokens, string content kept, no stream flag", async () => {
    const sent = fakeUpstream(OK);
    await anthropic.complete(HELLO, context());
    expect(sent[0]?.body).toEqual({ model: "claude-sonnet-4-5", max_tokens: 4096, messages: [{ role: "user", content: "Hello" }] });
  });

  it("max_tokens defaults to 4096 for every model (within each one's output) and passes through when given", async () => {
    const sent = fakeUpstream(OK);
    for (const model of ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-3-5-haiku-20241022"]) {
      await anthropic.complete({ ...HELLO, model }, context());
    }
    await anthropic.complete({ ...HELLO, max_tokens: 300 }, context());
    await anthropic.complete({ ...HELLO, model: "claude-opus-4-1", max_tokens: 20000 }, context());
    expect(sent.map((s) => s.body.max_tokens)).toEqual([4096, 4096, 4096, 4096, 300, 20000]);
    expect(sent.map((s) => s.body.model)).toEqual([
      "claude-sonnet-4-5",
      "claude-haiku-4-5",
      "claude-opus-4-1",
      "claude-3-5-haiku-20241022",
      "claude-sonnet-4-5",
      "claude-opus-4-1",
    ]);
  });

  it("a whole conversation: system and developer hoisted and joined, tool calls and results, merged user turns, images, sampling, tools, user", async () => {
    const sent = fakeUpstream(OK);
    const weather = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    await anthropic.complete(
      {
        model: "claude-sonnet-4-5",
        messages: [
          { role: "system", content: "You are terse." },
          {
            role: "developer",
            content: [
              { type: "text", text: "Use metric units." },
              { type: "text", text: "Never guess." },
            ],
          },
          { role: "user", content: "Weather in Paris and Oslo?" },
          {
            role: "assistant",
            content: "Checking both.",
            tool_calls: [
              { id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
              { id: "toolu_02", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
            ],
          },
          { role: "tool", tool_call_id: "toolu_01", content: "18 C" },
          { role: "tool", tool_call_id: "toolu_02", content: [{ type: "text", text: "4 C" }] },
          {
            role: "user",
            content: [
              { type: "text", text: "And this picture?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            ],
          },
          { role: "user", content: [{ type: "image_url", image_url: { url: "https://images.example/cat.jpg", detail: "low" } }] },
        ],
        max_tokens: 300,
        stop: ["\n\nHuman:", "END"],
        temperature: 1.6,
        top_p: 0.9,
        tools: [
          { type: "function", function: { name: "get_weather", description: "Current weather", parameters: weather } },
          { type: "function", function: { name: "now" } },
        ],
        tool_choice: "required",
        parallel_tool_calls: false,
        user: "user_42",
        // Anthropic has none of these: dropped.
        seed: 7,
        frequency_penalty: 0.5,
        presence_penalty: 0.1,
      },
      context(),
    );
    expect(sent[0]?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 300,
      system: "You are terse.\n\nUse metric units.\nNever guess.",
      messages: [
        { role: "user", content: "Weather in Paris and Oslo?" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Checking both." },
            { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
            { type: "tool_use", id: "toolu_02", name: "get_weather", input: { city: "Oslo" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_01", content: "18 C" },
            { type: "tool_result", tool_use_id: "toolu_02", content: "4 C" },
            { type: "text", text: "And this picture?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "https://images.example/cat.jpg" } },
          ],
        },
      ],
      stop_sequences: ["\n\nHuman:", "END"],
      // top_p is dropped when temperature is set: Claude's 4.5 models refuse the two together.
      temperature: 1,
      tools: [
        { name: "get_weather", description: "Current weather", input_schema: weather },
        { name: "now", input_schema: { type: "object", properties: {} } },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      metadata: { user_id: "user_42" },
    });
  });

  it("consecutive user messages become one turn; assistant text stays a string, and tool calls without text carry no empty block", async () => {
    const sent = fakeUpstream(OK);
    const call = { id: "toolu_9", type: "function" as const, function: { name: "now", arguments: "" } };
    await anthropic.complete(
      ask([
        { role: "user", content: "Hi" },
        { role: "user", content: "Are you there?" },
        { role: "assistant", content: "Yes." },
        { role: "user", content: "Time?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: "toolu_9", content: "12:00" },
      ]),
      context(),
    );
    expect(sent[0]?.body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Hi" },
          { type: "text", text: "Are you there?" },
        ],
      },
      { role: "assistant", content: "Yes." },
      { role: "user", content: "Time?" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_9", name: "now", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "12:00" }] },
    ]);
  });

  it("sends top_p when it is the only sampling setting, never both with temperature", async () => {
    const sent = fakeUpstream(OK);
    await anthropic.complete(ask([{ role: "user", content: "Hi" }], { top_p: 0.8 }), context());
    await anthropic.complete(ask([{ role: "user", content: "Hi" }], { top_p: 0.8, temperature: 0.3 }), context());
    expect(sent[0]?.body).toMatchObject({ top_p: 0.8 });
    expect(sent[0]?.body).not.toHaveProperty("temperature");
    expect(sent[1]?.body).toMatchObject({ temperature: 0.3 });
    expect(sent[1]?.body).not.toHaveProperty("top_p");
  });

  it("temperature is clamped to Anthropic's 0..1, values within it unchanged", async () => {
    const sent = fakeUpstream(OK);
    for (const temperature of [0, 0.7, 1, 1.3, 2]) await anthropic.complete({ ...HELLO, temperature }, context());
    expect(sent.map((s) => s.body.temperature)).toEqual([0, 0.7, 1, 1, 1]);
  });

  it("tool_choice and parallel_tool_calls map to Anthropic's tool_choice", async () => {
    const sent = fakeUpstream(OK);
    const tools: ChatRequest["tools"] = [{ type: "function", function: { name: "now" } }];
    const named = { type: "function" as const, function: { name: "now" } };
    const cases: [ChatRequest["tool_choice"], boolean | undefined, unknown][] = [
      [undefined, undefined, undefined],
      [undefined, true, undefined],
      [undefined, false, { type: "auto", disable_parallel_tool_use: true }],
      ["auto", undefined, { type: "auto" }],
      ["auto", false, { type: "auto", disable_parallel_tool_use: true }],
      ["required", undefined, { type: "any" }],
      ["required", true, { type: "any" }],
      [named, undefined, { type: "tool", name: "now" }],
      [named, false, { type: "tool", name: "now", disable_parallel_tool_use: true }],
      ["none", undefined, { type: "none" }],
      ["none", false, { type: "none" }],
    ];
    for (const [tool_choice, parallel_tool_calls] of cases) await anthropic.complete({ ...HELLO, tools, tool_choice, parallel_tool_calls }, context());
    expect(sent.map((s) => s.body.tool_choice)).toEqual(cases.map(([, , expected]) => expected));
    expect(sent.map((s) => "tool_choice" in s.body)).toEqual(cases.map(([, , expected]) => expected !== undefined));
    // Without tools neither is sent: Anthropic refuses a tool_choice that has nothing to choose from.
    await anthropic.complete({ ...HELLO, tools: [], tool_choice: "required", parallel_tool_calls: false }, context());
    expect(sent.at(-1)?.body).toEqual({ model: "claude-sonnet-4-5", max_tokens: 4096, messages: [{ role: "user", content: "Hello" }] });
  });

  it("response_format json_object / json_schema become a JSON-only instruction in the system prompt", async () => {
    const sent = fakeUpstream(OK);
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const withSystem = ask([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello" },
    ]);
    await anthropic.complete({ ...withSystem, response_format: { type: "json_object" } }, context());
    await anthropic.complete({ ...HELLO, response_format: { type: "json_object" } }, context());
    await anthropic.complete({ ...HELLO, response_format: { type: "json_schema", json_schema: { name: "reply", schema } } }, context());
    await anthropic.complete({ ...withSystem, response_format: { type: "text" } }, context());
    const [jsonWithSystem, jsonAlone, jsonSchema, text] = sent.map((s) => s.body.system);
    const instruction = "Answer with a single JSON object and nothing else: no prose before or after it, no code fences.";
    expect(jsonWithSystem).toBe(`Be brief.\n\n${instruction}`);
    expect(jsonAlone).toBe(instruction);
    expect(jsonSchema).toBe(`${instruction} It must match this JSON Schema: ${JSON.stringify(schema)}`);
    expect(text).toBe("Be brief.");
    // The system messages never reach `messages`.
    expect(sent[0]?.body.messages).toEqual([{ role: "user", content: "Hello" }]);
  });

  it("an image URL Anthropic cannot take, or tool arguments that are not a JSON object, fail as parameter.invalid before any request", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const image = (url: string) => ask([{ role: "user", content: [{ type: "image_url", image_url: { url } }] }]);
    const args = (text: string) =>
      ask([{ role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "now", arguments: text } }] }]);
    for (const request of [image("data:image/svg+xml,%3Csvg%3E"), image("ftp://files.example/cat.png"), args("{not json"), args("[1,2]"), args("42")]) {
      const error = expectApiError(await rejection(anthropic.complete(request, context())), "parameter.invalid");
      expect(error.param).toBe("messages");
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("anthropic: the response", () => {
  it("text blocks become the content, with usage", async () => {
    fakeUpstream(() =>
      messageResponse([
        { type: "text", text: "Hello" },
        { type: "text", text: " there." },
      ]),
    );
    expect(await anthropic.complete(HELLO, context())).toEqual({
      message: { role: "assistant", content: "Hello there." },
      finish_reason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 41, total_tokens: 51 },
    });
  });

  it("tool_use blocks become tool_calls with the input as JSON text; thinking is left out", async () => {
    const input = { city: "Paris", days: 2, units: { temperature: "C" } };
    fakeUpstream(() =>
      messageResponse(
        [
          { type: "thinking", thinking: "The user wants weather.", signature: "EqQBCgIYAh" },
          { type: "text", text: "Let me check." },
          { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", input },
          { type: "tool_use", id: "toolu_01B", name: "now", input: {} },
        ],
        "tool_use",
      ),
    );
    const result = await anthropic.complete(HELLO, context());
    expect(result.finish_reason).toBe("tool_calls");
    expect(result.message.content).toBe("Let me check.");
    expect(result.message.tool_calls).toEqual([
      { id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "get_weather", arguments: JSON.stringify(input) } },
      { id: "toolu_01B", type: "function", function: { name: "now", arguments: "{}" } },
    ]);
    expect(JSON.parse(result.message.tool_calls?.[0]?.function.arguments ?? "")).toEqual(input);
  });

  it("only tool calls: content is null", async () => {
    fakeUpstream(() => messageResponse([{ type: "tool_use", id: "toolu_1", name: "now", input: {} }], "tool_use"));
    const result = await anthropic.complete(HELLO, context());
    expect(result.message).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "now", arguments: "{}" } }],
    });
  });

  it("every stop_reason maps to an OpenAI finish_reason", async () => {
    const cases: [string, string][] = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool_calls"],
      ["refusal", "content_filter"],
    ];
    const reasons = cases.map(([stop]) => stop);
    fakeUpstream(() => messageResponse([{ type: "text", text: "x" }], reasons.shift()));
    for (const [, finish] of cases) expect((await anthropic.complete(HELLO, context())).finish_reason).toBe(finish);
  });

  it("usage counts cache writes and reads as prompt tokens", async () => {
    const usage = { input_tokens: 10, cache_creation_input_tokens: 200, cache_read_input_tokens: 3000, output_tokens: 41 };
    fakeUpstream(() => messageResponse([{ type: "text", text: "x" }], "end_turn", usage));
    expect((await anthropic.complete(HELLO, context())).usage).toEqual({ prompt_tokens: 3210, completion_tokens: 41, total_tokens: 3251 });
  });

  it("a 200 that is not JSON, or not a message, is provider.unavailable", async () => {
    const bodies = [new Response("<html>gateway</html>", { status: 200 }), jsonResponse(200, { type: "message", content: "Hi" })];
    fakeUpstream(() => bodies.shift() ?? OK());
    expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.unavailable");
    expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.unavailable");
  });
});

describe("anthropic: streaming", () => {
  it("asks for a stream; the recorded event sequence becomes a delta, one finish, and usage last", async () => {
    const { sent } = fakeStream([RECORDED]);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(sent[0]?.body).toEqual({ model: "claude-sonnet-4-5", max_tokens: 4096, messages: [{ role: "user", content: "Hello" }], stream: true });
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: "delta", content: "[" },
      { type: "finish", finish_reason: "stop" },
      { type: "usage", usage: { prompt_tokens: 135, completion_tokens: 10, total_tokens: 145 } },
    ]);
  });

  it("deltas arrive in order across chunk boundaries and pings; usage is cumulative, with cache tokens", async () => {
    const wire = [
      messageStart({ input_tokens: 7, cache_creation_input_tokens: 100, cache_read_input_tokens: 20, output_tokens: 1 }),
      ping,
      textStart(0, "Once"),
      textDelta(0, " upon"),
      ping,
      textDelta(0, " a time"),
      blockStop(0),
      messageDelta("max_tokens", { output_tokens: 5 }),
      messageDelta("max_tokens", { output_tokens: 9 }),
      messageStop,
    ].join("");
    // Cut the wire mid-line and mid-character, as a network does.
    const cuts = [13, 250, 251, 600, wire.length - 3];
    const chunks = cuts.map((end, i) => wire.slice(cuts[i - 1] ?? 0, end)).concat(wire.slice(wire.length - 3));
    fakeStream(chunks);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: "delta", content: "Once" },
      { type: "delta", content: " upon" },
      { type: "delta", content: " a time" },
      { type: "finish", finish_reason: "length" },
      { type: "usage", usage: { prompt_tokens: 127, completion_tokens: 9, total_tokens: 136 } },
    ]);
  });

  it("two tool_use blocks after text: text streams, fragments reassemble under indexes 0 and 1", async () => {
    fakeStream([
      messageStart(),
      textStart(0),
      textDelta(0, "Checking both."),
      blockStop(0),
      toolStart(1, "toolu_01", "get_weather"),
      jsonDelta(1, ""),
      jsonDelta(1, '{"city": "Pa'),
      jsonDelta(1, 'ris"}'),
      blockStop(1),
      toolStart(2, "toolu_02", "get_weather"),
      jsonDelta(2, '{"ci'),
      ping,
      jsonDelta(2, 'ty": "Oslo", "days": 3}'),
      blockStop(2),
      messageDelta("tool_use", { output_tokens: 80 }),
      messageStop,
    ]);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(error).toBeUndefined();
    expect(events[0]).toEqual({ type: "delta", content: "Checking both." });
    expect(events[1]).toEqual({
      type: "delta",
      tool_calls: [{ index: 0, id: "toolu_01", type: "function", function: { name: "get_weather", arguments: "" } }],
    });
    expect(events.slice(-2)).toEqual([
      { type: "finish", finish_reason: "tool_calls" },
      { type: "usage", usage: { prompt_tokens: 12, completion_tokens: 80, total_tokens: 92 } },
    ]);
    // Reassemble as an OpenAI client does: by index.
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
    for (const event of events) {
      if (event.type !== "delta") continue;
      for (const delta of event.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { arguments: "" };
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name = delta.function.name;
        call.arguments += delta.function?.arguments ?? "";
        calls.set(delta.index, call);
      }
    }
    expect([...calls.keys()]).toEqual([0, 1]);
    expect(calls.get(0)).toEqual({ id: "toolu_01", name: "get_weather", arguments: '{"city": "Paris"}' });
    expect(calls.get(1)).toEqual({ id: "toolu_02", name: "get_weather", arguments: '{"city": "Oslo", "days": 3}' });
    expect(JSON.parse(calls.get(1)?.arguments ?? "")).toEqual({ city: "Oslo", days: 3 });
  });

  it("thinking, signature and citation deltas are not passed on", async () => {
    fakeStream([
      messageStart(),
      sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }),
      sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Hmm." } }),
      sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "EqQBCgIYAh" } }),
      blockStop(0),
      textStart(1),
      sse("content_block_delta", {
        type: "content_block_delta",
        index: 1,
        delta: { type: "citations_delta", citation: { type: "char_location", cited_text: "x" } },
      }),
      textDelta(1, "Answer."),
      blockStop(1),
      sse("some_future_event", { type: "some_future_event" }),
      messageDelta("end_turn", { output_tokens: 3 }),
      messageStop,
    ]);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: "delta", content: "Answer." },
      { type: "finish", finish_reason: "stop" },
      { type: "usage", usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } },
    ]);
  });

  it("the first delta reaches the consumer while the upstream is still answering", async () => {
    let release = () => {};
    const paused = new Promise<void>((resolve) => (release = resolve));
    const { upstream } = fakeStream([
      messageStart(),
      textStart(0),
      textDelta(0, "Hel"),
      paused,
      textDelta(0, "lo"),
      blockStop(0),
      messageDelta("end_turn", { output_tokens: 2 }),
      messageStop,
    ]);
    const iterator = (await anthropic.stream(HELLO, context()))[Symbol.asyncIterator]();
    const first = await within(iterator.next(), 2000);
    expect(first).toEqual({ done: false, value: { type: "delta", content: "Hel" } });
    expect(upstream.finished).toBe(false);
    release();
    const rest: ChatEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(rest.map((e) => e.type)).toEqual(["delta", "finish", "usage"]);
    expect(rest[0]).toEqual({ type: "delta", content: "lo" });
    expect(upstream.finished).toBe(true);
  });

  it("returning from the iterator cancels the upstream body, after the first event or before any", async () => {
    const never = new Promise(() => {});
    const { upstream } = fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), never]);
    const iterator = (await anthropic.stream(HELLO, context()))[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: "delta", content: "Hel" });
    expect(upstream.cancelled).toBe(false);
    await iterator.return?.();
    expect(upstream.cancelled).toBe(true);

    vi.restoreAllMocks();
    const untouched = fakeStream([messageStart(), never]).upstream;
    const unread = (await anthropic.stream(HELLO, context()))[Symbol.asyncIterator]();
    await unread.return?.();
    expect(untouched.cancelled).toBe(true);
    expect(await unread.next()).toEqual({ done: true, value: undefined });
  });

  it("after message_stop reads the rest of the body rather than cancelling it, so its connection can be reused", async () => {
    let end = () => {};
    const rest = new Promise<void>((resolve) => (end = resolve));
    const { upstream } = fakeStream([
      messageStart(),
      textStart(0),
      textDelta(0, "Hi"),
      blockStop(0),
      messageDelta("end_turn", { output_tokens: 1 }),
      messageStop,
      rest,
    ]);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(["delta", "finish", "usage"]);
    expect(upstream.finished).toBe(false);
    end();
    await vi.waitFor(() => expect(upstream.finished).toBe(true));
    expect(upstream.cancelled).toBe(false);
  });

  it("breaking out of for-await cancels the upstream body", async () => {
    const { upstream } = fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), new Promise(() => {})]);
    for await (const event of await anthropic.stream(HELLO, context())) {
      expect(event).toEqual({ type: "delta", content: "Hel" });
      break;
    }
    expect(upstream.cancelled).toBe(true);
  });

  it("aborting ctx.signal aborts the upstream request and ends the iterator", async () => {
    const caller = new AbortController();
    const { upstream, sent } = fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), new Promise(() => {})]);
    const iterator = (await anthropic.stream(HELLO, context({}, caller.signal)))[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: "delta", content: "Hel" });
    const pending = iterator.next();
    expect(sent[0]?.signal?.aborted).toBe(false);
    caller.abort();
    expect(sent[0]?.signal?.aborted).toBe(true);
    const outcome = await within(rejection(pending), 2000);
    expect(outcome).toBeInstanceOf(CallerGone);
    expect(upstream.finished).toBe(false);
  });
});

describe("anthropic: errors", () => {
  it("429 is provider.rate_limited with the upstream's Retry-After", async () => {
    fakeUpstream(() =>
      errorResponse(429, "rate_limit_error", "This request would exceed your organization's rate limit of 50 requests per minute.", {
        "retry-after": "7",
        "x-should-retry": "true",
      }),
    );
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.rate_limited");
    expect(error.status).toBe(429);
    expect(error.headers).toEqual({ "Retry-After": "7" });
    expect(error.message).toBe("anthropic is rate limiting this deployment (upstream code: rate_limit_error); retry in 7 s.");
  });

  it("400 is provider.rejected with a fixed text and Anthropic's error type; its explanation goes to the log only", async () => {
    const message = `messages.1.content: tool_use ids were found without tool_result blocks (key ${KEY}; see https://${HOST}/docs/errors or ask ${HOST})`;
    fakeUpstream(() => errorResponse(400, "invalid_request_error", message));
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.rejected");
    expect(error.status).toBe(400);
    expect(error.message).toBe("anthropic refused the request as invalid (upstream code: invalid_request_error).");
    const logged = logs.lines().join("\n");
    expect(logged).toContain("messages.1.content: tool_use ids were found without tool_result blocks");
    expect(logged).not.toContain(KEY);
  });

  it("413 from the edge is provider.rejected too, as too large", async () => {
    fakeUpstream(() => errorResponse(413, "request_too_large", "Request exceeds the maximum allowed number of bytes."));
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.rejected");
    expect(error.message).toBe("anthropic refused the request as too large (upstream code: request_too_large).");
  });

  it("401, 404, 500 and 529 are provider.unavailable, and their detail is not echoed", async () => {
    const answers: [number, string, string][] = [
      [401, "authentication_error", "invalid x-api-key"],
      [404, "not_found_error", "model: claude-nope"],
      [500, "api_error", "Internal server error"],
      [529, "overloaded_error", "Overloaded"],
    ];
    for (const [status, type, detail] of answers) {
      vi.restoreAllMocks();
      fakeUpstream(() => errorResponse(status, type, detail, status === 529 ? { "retry-after": "3", "x-should-retry": "true" } : {}));
      for (const call of [anthropic.complete(HELLO, context()), anthropic.stream(HELLO, context())]) {
        const error = expectApiError(await rejection(call), "provider.unavailable");
        expect(error.status).toBe(503);
        expect(error.message).toContain(String(status));
        expect(error.message).not.toContain(detail);
      }
    }
  });

  it("a network failure is provider.unavailable", async () => {
    unreachable(new TypeError(`Network connection lost to ${HOST}`));
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.unavailable");
    expect(error.message).toBe("anthropic could not be reached; try again shortly.");
  });

  it("an upstream that never answers is provider.timeout after the first-byte timeout", async () => {
    const sent = fakeUpstream(noAnswer);
    const started = performance.now();
    const error = expectApiError(await rejection(anthropic.stream(HELLO, context({ LLM_FIRST_BYTE_TIMEOUT_MS: "100" }))), "provider.timeout");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error.status).toBe(503);
    expect(sent[0]?.signal?.aborted).toBe(true);
  });

  it("a stream that goes quiet: the iterator throws provider.timeout and the body is cancelled", async () => {
    const { upstream } = fakeStream([messageStart(), textStart(0), textDelta(0, "Hel")], "hang");
    const { events, error } = await drain(await anthropic.stream(HELLO, context({ LLM_STREAM_IDLE_TIMEOUT_MS: "100" })));
    expect(events).toEqual([{ type: "delta", content: "Hel" }]);
    expectApiError(error, "provider.timeout");
    expect(upstream.cancelled).toBe(true);
  });

  it("an error event mid-stream is provider.unavailable; its detail goes to the log only", async () => {
    const { upstream } = fakeStream(
      [
        messageStart(),
        textStart(0),
        textDelta(0, "Hel"),
        sse("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
        new Promise(() => {}),
      ],
      "hang",
    );
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(events).toEqual([{ type: "delta", content: "Hel" }]);
    expect(expectApiError(error, "provider.unavailable").message).toBe("anthropic broke off the stream (upstream code: overloaded_error); try again shortly.");
    expect(upstream.cancelled).toBe(true);
    const logged = logs.lines().join("\n");
    expect(logged).toContain("overloaded_error");
    expect(logged).not.toContain(KEY);
  });

  it("a stream that ends without message_stop is provider.unavailable, with no finish", async () => {
    fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), blockStop(0), messageDelta("end_turn", { output_tokens: 2 })]);
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(events).toEqual([{ type: "delta", content: "Hel" }]);
    expect(expectApiError(error, "provider.unavailable").message).toBe("anthropic ended the stream before it was complete; try again shortly.");
  });

  it("an event whose data is not JSON is provider.unavailable", async () => {
    const { upstream } = fakeStream(
      [
        messageStart(),
        textStart(0),
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n',
        new Promise(() => {}),
      ],
      "hang",
    );
    const { events, error } = await drain(await anthropic.stream(HELLO, context()));
    expect(events).toEqual([]);
    expect(expectApiError(error, "provider.unavailable").message).toBe("anthropic sent a stream event that could not be read; try again shortly.");
    expect(upstream.cancelled).toBe(true);
  });
});

const LEAKY_MESSAGE = leakyMessage(KEY);

describe("anthropic: the upstream's own words never reach the client", () => {
  it("a 400 naming an internal host, a private address, a URL and a credential is a fixed text with the error type", async () => {
    fakeUpstream(() => errorResponse(400, "invalid_request_error", LEAKY_MESSAGE));
    for (const call of [anthropic.complete(HELLO, context()), anthropic.stream(HELLO, context())]) {
      const error = expectApiError(await rejection(call), "provider.rejected");
      expect(error.message).toBe("anthropic refused the request as invalid (upstream code: invalid_request_error).");
      for (const leak of LEAKS) expect(error.message).not.toContain(leak);
    }
  });

  it("422 has its own fixed text", async () => {
    fakeUpstream(() => errorResponse(422, "invalid_request_error", LEAKY_MESSAGE));
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.rejected");
    expect(error.message).toBe("anthropic refused the request as unprocessable (upstream code: invalid_request_error).");
  });

  it.each(hostileCodes(KEY))("an error type that is not a plain token (%s) is not echoed", async (_what, type) => {
    fakeUpstream(() => errorResponse(400, type, "Bad request."));
    const error = expectApiError(await rejection(anthropic.complete(HELLO, context())), "provider.rejected");
    expect(error.message).toBe("anthropic refused the request as invalid.");
    expect(error.message).not.toContain(type);
  });

  it("a mid-stream error event: its type reaches the client, its words do not, and a hostile type does not either", async () => {
    fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), sse("error", { type: "error", error: { type: "api_error", message: LEAKY_MESSAGE } })]);
    const first = await drain(await anthropic.stream(HELLO, context()));
    const error = expectApiError(first.error, "provider.unavailable");
    expect(error.message).toBe("anthropic broke off the stream (upstream code: api_error); try again shortly.");
    for (const leak of LEAKS) expect(error.message).not.toContain(leak);
    const logged = logs.lines().join("\n");
    expect(logged).toContain("could not route this request");
    expect(logged).not.toContain(KEY);

    vi.restoreAllMocks();
    fakeStream([messageStart(), textStart(0), textDelta(0, "Hel"), sse("error", { type: "error", error: { type: INTERNAL_URL, message: LEAKY_MESSAGE } })]);
    const second = await drain(await anthropic.stream(HELLO, context()));
    expect(expectApiError(second.error, "provider.unavailable").message).toBe("anthropic broke off the stream; try again shortly.");
  });
});
