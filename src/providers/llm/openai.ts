import type { Config, UpstreamSettings } from "../../config";
import { ApiError } from "../../lib/errors";
import { openAiErrorCode, openAiErrorCodeOf, openAiErrorMessage } from "../openai-errors";
import { callUpstream, codeNote, redact, releasingEarly, type UpstreamResponse, unavailable, upstreamCode } from "../upstream";
import type { CallContext, ChatEvent, ChatRequest, ChatResult, FinishReason, LlmProvider, ModelInfo, ToolCall, ToolCallDelta, Usage } from "./types";

/**
 * OpenAI's chat completions, and Groq's copy of them: one implementation, two dialects. The
 * interface already speaks OpenAI's shape, so requests go out nearly as they came in and the work
 * here is reading answers defensively (upstream JSON is untrusted) and streaming them as events.
 */

interface Dialect {
  id: "openai" | "groq";
  name: string;
  settings: (config: Config) => UpstreamSettings;
  /** OpenAI deprecated `max_tokens` for `max_completion_tokens`; Groq documents only `max_tokens`. */
  maxTokensField: "max_completion_tokens" | "max_tokens";
  models: readonly ModelInfo[];
}

const model = (provider: Dialect["id"], name: string, contextWindow: number, maxOutput: number, vision: boolean): ModelInfo => ({
  id: `${provider}:${name}`,
  name,
  context_window: contextWindow,
  max_output_tokens: maxOutput,
  capabilities: { streaming: true, tools: true, vision },
});

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);
const field = (value: unknown, key: string): unknown => (isObject(value) ? value[key] : undefined);
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** Thrown when an answer does not have the shape the wire format promises. */
class Unreadable extends Error {}

const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/** `function_call` is the deprecated name of `tool_calls`; anything newer reads as a plain stop. */
const FINISH_REASONS = new Map<string, FinishReason>([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["content_filter", "content_filter"],
  ["function_call", "tool_calls"],
]);
const finishReasonOf = (value: unknown): FinishReason | undefined => {
  const reason = text(value);
  return reason === undefined ? undefined : (FINISH_REASONS.get(reason) ?? "stop");
};

function usageOf(value: unknown): Usage | undefined {
  const prompt = count(field(value, "prompt_tokens"));
  const completion = count(field(value, "completion_tokens"));
  if (prompt === undefined || completion === undefined) return undefined;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: count(field(value, "total_tokens")) ?? prompt + completion };
}

function firstChoice(body: unknown): JsonObject | undefined {
  const choices = field(body, "choices");
  return Array.isArray(choices) && isObject(choices[0]) ? choices[0] : undefined;
}

function toolCallOf(value: unknown): ToolCall {
  const id = text(field(value, "id"));
  const name = text(field(field(value, "function"), "name"));
  const args = text(field(field(value, "function"), "arguments"));
  if (id === undefined || name === undefined) throw new Unreadable("tool call without id or name");
  return { id, type: "function", function: { name, arguments: args ?? "" } };
}

function toolCallsOf(value: unknown): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new Unreadable("tool_calls is not a list");
  return value.length > 0 ? value.map(toolCallOf) : undefined;
}

/** One streamed fragment; only `index` is always there, the rest arrives piecemeal. */
function toolCallDeltaOf(value: unknown): ToolCallDelta {
  const index = count(field(value, "index"));
  if (index === undefined) throw new Unreadable("tool call fragment without index");
  const id = text(field(value, "id"));
  const fn = field(value, "function");
  const name = text(field(fn, "name"));
  const args = text(field(fn, "arguments"));
  return {
    index,
    ...(id === undefined ? {} : { id }),
    ...(field(value, "type") === "function" ? { type: "function" as const } : {}),
    ...(isObject(fn) ? { function: { ...(name === undefined ? {} : { name }), ...(args === undefined ? {} : { arguments: args }) } } : {}),
  };
}

function toolCallDeltasOf(value: unknown): ToolCallDelta[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new Unreadable("delta.tool_calls is not a list");
  return value.length > 0 ? value.map(toolCallDeltaOf) : undefined;
}

function chatResultOf(body: unknown): ChatResult {
  const choice = firstChoice(body);
  const message = field(choice, "message");
  if (!isObject(message)) throw new Unreadable("no choices[0].message");
  const toolCalls = toolCallsOf(message.tool_calls);
  return {
    message: { role: "assistant", content: text(message.content) ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
    finish_reason: finishReasonOf(field(choice, "finish_reason")) ?? (toolCalls ? "tool_calls" : "stop"),
    usage: usageOf(field(body, "usage")) ?? ZERO_USAGE,
  };
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** What one `chat.completion.chunk` contributes; any part may be missing. */
interface Chunk {
  delta?: Extract<ChatEvent, { type: "delta" }>;
  finishReason?: FinishReason;
  usage?: Usage;
}

/**
 * A mid-stream error (OpenAI: `error`, Groq also `x_groq.error`): its explanation, for the log, and
 * its machine code, for the client when it is a safe token.
 */
function streamErrorOf(chunk: unknown): { detail: string; code: string | undefined } | undefined {
  for (const error of [field(chunk, "error"), field(field(chunk, "x_groq"), "error")]) {
    if (error === undefined || error === null) continue;
    return { detail: text(error) ?? text(field(error, "message")) ?? "no message", code: openAiErrorCodeOf(error) };
  }
  return undefined;
}

function chunkOf(chunk: unknown): Chunk {
  const choice = firstChoice(chunk);
  const content = text(field(field(choice, "delta"), "content"));
  const toolCalls = toolCallDeltasOf(field(field(choice, "delta"), "tool_calls"));
  // The first chunk carries `content: ""` with the role; an empty delta says nothing.
  const hasDelta = Boolean(content) || toolCalls !== undefined;
  const finishReason = finishReasonOf(field(choice, "finish_reason"));
  // OpenAI reports usage in a last chunk with `choices: []`; Groq in `x_groq.usage` of its last one.
  const usage = usageOf(field(chunk, "usage")) ?? usageOf(field(field(chunk, "x_groq"), "usage"));
  return {
    ...(hasDelta ? { delta: { type: "delta", ...(content ? { content } : {}), ...(toolCalls ? { tool_calls: toolCalls } : {}) } } : {}),
    ...(finishReason ? { finishReason } : {}),
    ...(usage ? { usage } : {}),
  };
}

/**
 * Turns the upstream's server-sent events into the interface's events: the deltas as they come,
 * then one `finish`, then `usage` when it was reported. `for await` over `events` matters: leaving
 * the loop (an early return by our consumer, `[DONE]`, an error) returns the SSE iterator, which
 * cancels the upstream body.
 */
async function* chatEvents(dialect: Dialect, events: AsyncIterable<{ data: string }>, ctx: CallContext): AsyncGenerator<ChatEvent, void> {
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  let done = false;
  try {
    for await (const { data } of events) {
      if (data.startsWith("[DONE]")) {
        done = true;
        break;
      }
      if (data.trim() === "") continue; // an empty `data:` line is a keep-alive, not a chunk
      const chunk = parseChunk(dialect, data, ctx);
      if (chunk.delta) yield chunk.delta;
      finishReason = chunk.finishReason ?? finishReason;
      usage = chunk.usage ?? usage;
    }
    // Without `[DONE]` the finish reason is the only sign the answer is whole; without both it was cut.
    if (!done && finishReason === undefined) throw unavailable(dialect.id, "broke off the stream");
  } catch (err) {
    // A caller that left (CallerGone) is nobody's failure; the provider breaking off is the operator's to know.
    if (err instanceof ApiError) ctx.log.warn("llm stream failed", { provider: dialect.id, code: err.code, reason: err.message });
    throw err;
  }
  yield { type: "finish", finish_reason: finishReason ?? "stop" };
  if (usage) yield { type: "usage", usage };
}

function parseChunk(dialect: Dialect, data: string, ctx: CallContext): Chunk {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    throw unavailable(dialect.id, "broke off the stream");
  }
  const error = streamErrorOf(chunk);
  if (error !== undefined) {
    // Its words go to the log only; the client learns the stream broke off, and the code when safe.
    const secrets = secretsOf(dialect, ctx.config);
    ctx.log.warn("llm upstream error mid-stream", {
      provider: dialect.id,
      detail: redact(error.detail, secrets),
      upstream_code: error.code === undefined ? undefined : redact(error.code, secrets).slice(0, 200),
    });
    throw unavailable(dialect.id, `broke off the stream${codeNote(upstreamCode(error.code, secrets))}`);
  }
  try {
    return chunkOf(chunk);
  } catch (err) {
    if (err instanceof Unreadable) throw unavailable(dialect.id, "broke off the stream");
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Only the fields OpenAI knows, under its names; undefined ones are left out rather than sent as null. */
function requestBody(dialect: Dialect, request: ChatRequest, streaming: boolean): JsonObject {
  const body: JsonObject = {
    model: request.model,
    messages: request.messages,
    temperature: request.temperature,
    top_p: request.top_p,
    [dialect.maxTokensField]: request.max_tokens,
    stop: request.stop,
    tools: request.tools,
    tool_choice: request.tool_choice,
    parallel_tool_calls: request.parallel_tool_calls,
    response_format: request.response_format,
    frequency_penalty: request.frequency_penalty,
    presence_penalty: request.presence_penalty,
    user: request.user,
    seed: request.seed,
    // Usage is reported in streams only when asked for, and the interface promises it when known.
    ...(streaming ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

const endpoint = (baseUrl: string) => `${baseUrl.replace(/\/+$/, "")}/chat/completions`;

/** The key and the base URL's host, which must never be echoed (callUpstream adds the host too). */
function secretsOf(dialect: Dialect, config: Config): string[] {
  const { apiKey, baseUrl } = dialect.settings(config);
  return [apiKey, new URL(baseUrl).host].filter((secret): secret is string => Boolean(secret));
}

function send(dialect: Dialect, request: ChatRequest, ctx: CallContext, streaming: boolean): Promise<UpstreamResponse> {
  const { apiKey, baseUrl } = dialect.settings(ctx.config);
  if (!apiKey) throw new ApiError("provider.not_configured", `${dialect.name} is not configured on this deployment.`);
  return callUpstream({
    provider: dialect.id,
    url: endpoint(baseUrl),
    init: {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify(requestBody(dialect, request, streaming)),
    },
    firstByteTimeoutMs: ctx.config.llm.firstByteTimeoutMs,
    idleTimeoutMs: ctx.config.llm.streamIdleTimeoutMs,
    signal: ctx.signal,
    secrets: secretsOf(dialect, ctx.config),
    errorMessage: openAiErrorMessage,
    errorCode: openAiErrorCode,
    subject: "model",
    log: ctx.log,
  });
}

function openAiCompatible(dialect: Dialect): LlmProvider {
  return {
    id: dialect.id,
    name: dialect.name,
    models: dialect.models,
    configured: (config) => Boolean(dialect.settings(config).apiKey),

    async complete(request, ctx) {
      const body = await (await send(dialect, request, ctx, false)).json();
      try {
        return chatResultOf(body);
      } catch (err) {
        throw err instanceof Unreadable ? unavailable(dialect.id, "answered a body that could not be read") : err;
      }
    },

    async stream(request, ctx) {
      const upstream = await send(dialect, request, ctx, true);
      return releasingEarly(chatEvents(dialect, upstream.events(), ctx), upstream);
    },
  };
}

export const openai: LlmProvider = openAiCompatible({
  id: "openai",
  name: "OpenAI",
  settings: (config) => config.llm.openai,
  maxTokensField: "max_completion_tokens",
  models: [
    model("openai", "gpt-4o", 128_000, 16_384, true),
    model("openai", "gpt-4o-mini", 128_000, 16_384, true),
    model("openai", "gpt-4.1", 1_047_576, 32_768, true),
    model("openai", "gpt-4.1-mini", 1_047_576, 32_768, true),
    model("openai", "gpt-4.1-nano", 1_047_576, 32_768, true),
  ],
});

export const groq: LlmProvider = openAiCompatible({
  id: "groq",
  name: "Groq",
  settings: (config) => config.llm.groq,
  maxTokensField: "max_tokens",
  models: [
    model("groq", "llama-3.3-70b-versatile", 131_072, 32_768, false),
    model("groq", "llama-3.1-8b-instant", 131_072, 131_072, false),
    model("groq", "openai/gpt-oss-120b", 131_072, 65_536, false),
    model("groq", "meta-llama/llama-4-scout-17b-16e-instruct", 131_072, 8_192, true),
  ],
});
