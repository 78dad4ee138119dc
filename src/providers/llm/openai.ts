import type { Config, UpstreamSettings } from "../../config";
import type { ProviderContext } from "../context";
import { arr, at, isObject, type JsonObject, num, obj, parseJson, str } from "../json";
import { OPENAI_SHAPED, openAiErrorCodeOf } from "../openai-errors";
import { isConfigured, llmWaits, type ProviderDescriptor, providerCall } from "../provider-call";
import { brokeOff, loggedStream, type StreamLog, streamLogOf } from "../stream-log";
import { releasingEarly, type UpstreamResponse, unavailable } from "../upstream";
import type { ChatEvent, ChatRequest, ChatResult, FinishReason, LlmProvider, ModelInfo, ToolCall, ToolCallDelta, Usage } from "./types";

/**
 * OpenAI's chat completions, and Groq's copy of them: one implementation, two dialects. The
 * interface already speaks OpenAI's shape, so requests go out nearly as they came in and the work
 * here is reading answers defensively (upstream JSON is untrusted) and streaming them as events.
 */

interface Dialect {
  upstream: ProviderDescriptor & { id: "openai" | "groq" };
  /** OpenAI deprecated `max_tokens` for `max_completion_tokens`; Groq documents only `max_tokens`. */
  maxTokensField: "max_completion_tokens" | "max_tokens";
  models: readonly ModelInfo[];
}

/** OpenAI and Groq alike: OpenAI's conventions and the LLM waits. */
const openAiShaped = (id: "openai" | "groq", name: string, settings: (config: Config) => UpstreamSettings): Dialect["upstream"] => ({
  id,
  name,
  settings,
  waits: llmWaits,
  ...OPENAI_SHAPED,
  subject: "model",
});

const model = (provider: Dialect["upstream"]["id"], name: string, contextWindow: number, maxOutput: number, vision: boolean): ModelInfo => ({
  id: `${provider}:${name}`,
  name,
  context_window: contextWindow,
  max_output_tokens: maxOutput,
  capabilities: { streaming: true, tools: true, vision },
});

// ---------------------------------------------------------------------------------------------
// Answers

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
  const reason = str(value);
  return reason === undefined ? undefined : (FINISH_REASONS.get(reason) ?? "stop");
};

function usageOf(value: unknown): Usage | undefined {
  const prompt = num(value, "prompt_tokens");
  const completion = num(value, "completion_tokens");
  if (prompt === undefined || completion === undefined) return undefined;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: num(value, "total_tokens") ?? prompt + completion };
}

const firstChoice = (body: unknown): JsonObject | undefined => obj(arr(body, "choices")?.[0]);

function toolCallOf(value: unknown): ToolCall {
  const id = str(value, "id");
  const name = str(value, "function", "name");
  const args = str(value, "function", "arguments");
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
  const index = num(value, "index");
  if (index === undefined) throw new Unreadable("tool call fragment without index");
  const id = str(value, "id");
  const fn = at(value, "function");
  const name = str(fn, "name");
  const args = str(fn, "arguments");
  return {
    index,
    ...(id === undefined ? {} : { id }),
    ...(at(value, "type") === "function" ? { type: "function" as const } : {}),
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
  const message = obj(choice, "message");
  if (!message) throw new Unreadable("no choices[0].message");
  const toolCalls = toolCallsOf(message.tool_calls);
  return {
    message: { role: "assistant", content: str(message.content) ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
    finish_reason: finishReasonOf(at(choice, "finish_reason")) ?? (toolCalls ? "tool_calls" : "stop"),
    usage: usageOf(at(body, "usage")) ?? ZERO_USAGE,
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
  for (const error of [at(chunk, "error"), at(chunk, "x_groq", "error")]) {
    if (error === undefined || error === null) continue;
    return { detail: str(error) ?? str(error, "message") ?? "no message", code: openAiErrorCodeOf(error) };
  }
  return undefined;
}

function chunkOf(chunk: unknown): Chunk {
  const choice = firstChoice(chunk);
  const content = str(choice, "delta", "content");
  const toolCalls = toolCallDeltasOf(at(choice, "delta", "tool_calls"));
  // The first chunk carries `content: ""` with the role; an empty delta says nothing.
  const hasDelta = Boolean(content) || toolCalls !== undefined;
  const finishReason = finishReasonOf(at(choice, "finish_reason"));
  // OpenAI reports usage in a last chunk with `choices: []`; Groq in `x_groq.usage` of its last one.
  const usage = usageOf(at(chunk, "usage")) ?? usageOf(at(chunk, "x_groq", "usage"));
  return {
    ...(hasDelta ? { delta: { type: "delta", ...(content ? { content } : {}), ...(toolCalls ? { tool_calls: toolCalls } : {}) } } : {}),
    ...(finishReason ? { finishReason } : {}),
    ...(usage ? { usage } : {}),
  };
}

/** OpenAI's last event: nothing of the answer follows it. */
const isDone = (event: { data: string }) => event.data.startsWith("[DONE]");

/**
 * Turns the upstream's server-sent events into the interface's events: the deltas as they come,
 * then one `finish`, then `usage` when it was reported. `for await` over `events` matters: leaving
 * the loop early (our consumer returning, an error) returns the SSE iterator, which cancels the
 * upstream body; after `[DONE]` the iterator has ended already and reads the body's rest itself.
 */
async function* chatEvents(id: string, events: AsyncIterable<{ data: string }>, where: StreamLog): AsyncGenerator<ChatEvent, void> {
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  let done = false;
  for await (const { data } of events) {
    if (isDone({ data })) {
      done = true;
      break;
    }
    if (data.trim() === "") continue; // an empty `data:` line is a keep-alive, not a chunk
    const chunk = parseChunk(id, data, where);
    if (chunk.delta) yield chunk.delta;
    finishReason = chunk.finishReason ?? finishReason;
    usage = chunk.usage ?? usage;
  }
  // Without `[DONE]` the finish reason is the only sign the answer is whole; without both it was cut.
  if (!done && finishReason === undefined) throw unavailable(id, "broke off the stream");
  yield { type: "finish", finish_reason: finishReason ?? "stop" };
  if (usage) yield { type: "usage", usage };
}

function parseChunk(id: string, data: string, where: StreamLog): Chunk {
  const chunk = parseJson(data);
  if (chunk === undefined) throw unavailable(id, "broke off the stream");
  const error = streamErrorOf(chunk);
  if (error !== undefined) throw brokeOff(where, error);
  try {
    return chunkOf(chunk);
  } catch (err) {
    if (err instanceof Unreadable) throw unavailable(id, "broke off the stream");
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

const send = (dialect: Dialect, request: ChatRequest, ctx: ProviderContext, streaming: boolean): Promise<UpstreamResponse> =>
  providerCall(dialect.upstream, { path: "/chat/completions", json: requestBody(dialect, request, streaming) }, ctx);

function openAiCompatible(dialect: Dialect): LlmProvider {
  const { id, name } = dialect.upstream;
  return {
    id,
    name,
    models: dialect.models,
    configured: (config) => isConfigured(dialect.upstream, config),

    async complete(request, ctx) {
      const body = await (await send(dialect, request, ctx, false)).json();
      try {
        return chatResultOf(body);
      } catch (err) {
        throw err instanceof Unreadable ? unavailable(id, "answered a body that could not be read") : err;
      }
    },

    async stream(request, ctx) {
      const upstream = await send(dialect, request, ctx, true);
      const where = streamLogOf("llm", dialect.upstream, ctx);
      return releasingEarly(loggedStream(chatEvents(id, upstream.events(isDone), where), where), upstream);
    },
  };
}

export const openai: LlmProvider = openAiCompatible({
  upstream: openAiShaped("openai", "OpenAI", (config) => config.llm.openai),
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
  upstream: openAiShaped("groq", "Groq", (config) => config.llm.groq),
  maxTokensField: "max_tokens",
  models: [
    model("groq", "llama-3.3-70b-versatile", 131_072, 32_768, false),
    model("groq", "llama-3.1-8b-instant", 131_072, 131_072, false),
    model("groq", "openai/gpt-oss-120b", 131_072, 65_536, false),
    model("groq", "meta-llama/llama-4-scout-17b-16e-instruct", 131_072, 8_192, true),
  ],
});
