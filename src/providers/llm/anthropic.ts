import type { EventSourceMessage } from "eventsource-parser";
import { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";
import { count, isObject, type JsonObject, obj, parseJson, str } from "../json";
import { isConfigured, llmWaits, type ProviderDescriptor, providerCall } from "../provider-call";
import { brokeOff, loggedStream, type StreamLog, streamLogOf } from "../stream-log";
import { releasingEarly, type UpstreamResponse, unavailable } from "../upstream";
import type {
  ChatEvent,
  ChatMessage,
  ChatRequest,
  ChatResult,
  ContentPart,
  FinishReason,
  LlmProvider,
  ModelInfo,
  ResponseFormat,
  TextPart,
  ToolCall,
  Usage,
} from "./types";

/**
 * Anthropic's Messages API behind the provider interface. Requests arrive and results leave in
 * OpenAI's chat-completions shape; everything Anthropic-specific (the top-level system prompt,
 * strict user/assistant alternation, content blocks, its stream events) is translated here and
 * nowhere else. Transport, timeouts and error statuses are upstream.ts's, as for every provider.
 */

const PROVIDER = "anthropic";
/** The only version of the Messages API; it is required on every request. */
const API_VERSION = "2023-06-01";

/** Anthropic's error body, `{"type": "error", "error": {"type", "message"}}`; its type is the machine code. */
const UPSTREAM: ProviderDescriptor = {
  id: PROVIDER,
  name: "Anthropic",
  settings: (config) => config.llm.anthropic,
  waits: llmWaits,
  auth: (apiKey) => ({ "x-api-key": apiKey, "anthropic-version": API_VERSION }),
  errorMessage: (body) => str(body, "error", "message"),
  errorCode: (body) => str(body, "error", "type"),
  subject: "model",
  setupHint: "the operator must set ANTHROPIC_API_KEY",
};

/**
 * Anthropic requires `max_tokens`; OpenAI callers usually leave it out, meaning "what the answer
 * needs". The model's whole output budget (up to 64k) is the wrong stand-in: Anthropic counts
 * max_tokens against the organisation's output-token rate limit when the request starts, and a
 * long budget on a non-streamed call invites a reply that outlives our timeouts. 4096 tokens is
 * ample for a conversational turn; callers who want more say so.
 */
const DEFAULT_MAX_TOKENS = 4096;

const model = (name: string, maxOutput: number): ModelInfo => ({
  id: `${PROVIDER}:${name}`,
  name,
  context_window: 200_000,
  max_output_tokens: maxOutput,
  capabilities: { streaming: true, tools: true, vision: true },
});

const MODELS: readonly ModelInfo[] = [model("claude-sonnet-4-5", 64_000), model("claude-haiku-4-5", 64_000), model("claude-opus-4-1", 32_000)];

// ---------------------------------------------------------------------------------------------
// Anthropic's wire shapes (request side: what we send, so plain types suffice)

type TextBlock = { type: "text"; text: string };
type ImageBlock = { type: "image"; source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string } };
type ToolUseBlock = { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };
type ToolResultBlock = { type: "tool_result"; tool_use_id: string; content: string };
type Block = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock;

interface AnthropicMessage {
  role: "user" | "assistant";
  content: string | Block[];
}

type AnthropicToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id: string };
  stream?: true;
}

// ---------------------------------------------------------------------------------------------
// Request: OpenAI → Anthropic

/** Text parts of one message, as one text (the parts of a system prompt or a tool result). */
const textOf = (content: string | TextPart[]): string => (typeof content === "string" ? content : content.map((p) => p.text).join("\n"));

/** Anthropic refuses empty text blocks, and they carry nothing, so none is ever sent. */
const textBlocks = (content: string | TextPart[] | null): TextBlock[] =>
  (typeof content === "string" ? [content] : (content ?? []).map((p) => p.text)).filter((text) => text !== "").map((text) => ({ type: "text", text }));

const invalidMessages = (message: string) => new ApiError("parameter.invalid", message, { param: "messages" });

/** `data:<type>[;params];base64,<data>`: the only data URL Anthropic can take (as a base64 source). */
const BASE64_DATA_URL = /^data:([^;,]+)[^,]*;base64,/i;

function imageBlock(url: string): ImageBlock {
  const header = BASE64_DATA_URL.exec(url);
  if (header?.[1]) return { type: "image", source: { type: "base64", media_type: header[1], data: url.slice(header[0].length) } };
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw invalidMessages("An image_url must be an http(s) URL or a base64 data URL (data:<media type>;base64,<data>).");
}

const userBlock = (part: ContentPart): Block[] => (part.type === "text" ? textBlocks(part.text) : [imageBlock(part.image_url.url)]);

/** OpenAI sends arguments as JSON text; Anthropic wants the object. */
function toolInput(call: ToolCall): Record<string, unknown> {
  // Some models emit "" for a tool without parameters, and echoing it back must not fail.
  if (call.function.arguments.trim() === "") return {};
  const input = parseJson(call.function.arguments);
  if (!isObject(input)) throw invalidMessages(`The arguments of tool call '${call.id}' must be a JSON object.`);
  return input;
}

type InstructionMessage = Extract<ChatMessage, { role: "system" | "developer" }>;
type TurnMessage = Exclude<ChatMessage, InstructionMessage>;
const isInstruction = (message: ChatMessage): message is InstructionMessage => message.role === "system" || message.role === "developer";

/** One OpenAI message as one Anthropic message; system and developer ones go to `system` instead. */
function toAnthropicMessage(message: TurnMessage): AnthropicMessage {
  switch (message.role) {
    case "user":
      return { role: "user", content: typeof message.content === "string" ? message.content : message.content.flatMap(userBlock) };
    case "assistant": {
      const calls = message.tool_calls ?? [];
      if (calls.length === 0 && typeof message.content === "string") return { role: "assistant", content: message.content };
      const uses: ToolUseBlock[] = calls.map((call) => ({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call) }));
      return { role: "assistant", content: [...textBlocks(message.content), ...uses] };
    }
    case "tool":
      // Anthropic has no tool role: a tool's answer is a block of the next user turn.
      return { role: "user", content: [{ type: "tool_result", tool_use_id: message.tool_call_id, content: textOf(message.content) }] };
  }
}

const asBlocks = (content: string | Block[]): Block[] => (typeof content === "string" ? textBlocks(content) : content);

/**
 * Anthropic requires user and assistant turns to alternate, so consecutive messages of one role
 * become one message (several tool results after one assistant turn: one user turn, several
 * blocks). A message that needs no merging keeps its string content.
 */
function toAnthropicMessages(messages: readonly ChatMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  for (const message of messages) {
    if (isInstruction(message)) continue;
    const next = toAnthropicMessage(message);
    const last = out.at(-1);
    if (last?.role === next.role) last.content = [...asBlocks(last.content), ...asBlocks(next.content)];
    else out.push(next);
  }
  return out;
}

/** Anthropic has no JSON mode: the closest it gets is being told, in the system prompt. */
function jsonInstruction(format: ResponseFormat | undefined): string | undefined {
  const only = "Answer with a single JSON object and nothing else: no prose before or after it, no code fences.";
  if (format?.type === "json_object") return only;
  if (format?.type === "json_schema") {
    const schema = format.json_schema.schema;
    return schema ? `${only} It must match this JSON Schema: ${JSON.stringify(schema)}` : only;
  }
  return undefined;
}

/**
 * Anthropic takes one system prompt, outside the conversation: every system and developer message
 * (wherever it stood) goes there, in order, separated by blank lines.
 */
function systemPrompt(request: ChatRequest): string | undefined {
  const parts = request.messages.filter(isInstruction).map((m) => textOf(m.content));
  const instruction = jsonInstruction(request.response_format);
  if (instruction) parts.push(instruction);
  const text = parts.filter((p) => p !== "").join("\n\n");
  return text === "" ? undefined : text;
}

function toAnthropicToolChoice(request: ChatRequest): AnthropicToolChoice | undefined {
  const choice = request.tool_choice;
  if (choice === "none") return { type: "none" }; // parallelism is moot, and "none" takes no options
  const serial = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  // Anthropic's default is auto; it is spelled out only to carry disable_parallel_tool_use.
  if (choice === undefined) return request.parallel_tool_calls === false ? { type: "auto", ...serial } : undefined;
  if (choice === "auto") return { type: "auto", ...serial };
  if (choice === "required") return { type: "any", ...serial };
  return { type: "tool", name: choice.function.name, ...serial };
}

function defaultMaxTokens(name: string): number {
  const known = MODELS.find((m) => m.name === name);
  return Math.min(DEFAULT_MAX_TOKENS, known?.max_output_tokens ?? DEFAULT_MAX_TOKENS);
}

/**
 * The Messages API body for an OpenAI-shaped request. OpenAI fields Anthropic has no equivalent
 * for (seed, frequency_penalty, presence_penalty) are dropped silently: OpenAI clients send them
 * by habit, and refusing them would make this provider unusable from those clients.
 */
function toAnthropicRequest(request: ChatRequest, stream: boolean): AnthropicRequest {
  const body: AnthropicRequest = {
    model: request.model,
    max_tokens: request.max_tokens ?? defaultMaxTokens(request.model),
    messages: toAnthropicMessages(request.messages),
  };
  const system = systemPrompt(request);
  if (system !== undefined) body.system = system;
  if (request.stop && request.stop.length > 0) body.stop_sequences = request.stop;
  // Anthropic accepts 0..1 where OpenAI accepts 0..2. Clamping (not halving) keeps the values
  // callers actually tune by feel (0, 0.2, 0.7, 1) meaning what they meant; only "hotter than 1"
  // is lost, and Anthropic has nothing hotter.
  if (request.temperature !== undefined) body.temperature = Math.min(request.temperature, 1);
  // Claude's 4.5 models refuse temperature and top_p together; temperature is the one callers tune.
  else if (request.top_p !== undefined) body.top_p = request.top_p;
  // Without tools a tool_choice means nothing (and Anthropic refuses one), so both travel together.
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map(({ function: f }) => ({
      name: f.name,
      ...(f.description === undefined ? {} : { description: f.description }),
      input_schema: f.parameters ?? { type: "object", properties: {} },
    }));
    const choice = toAnthropicToolChoice(request);
    if (choice) body.tool_choice = choice;
  }
  if (request.user) body.metadata = { user_id: request.user };
  if (stream) body.stream = true;
  return body;
}

// ---------------------------------------------------------------------------------------------
// Response: Anthropic → OpenAI (upstream JSON is unknown until narrowed)

const FINISH_REASONS = new Map<string, FinishReason>([
  ["end_turn", "stop"],
  ["stop_sequence", "stop"],
  // A server tool paused a long turn: the turn is over as far as an OpenAI caller can tell.
  ["pause_turn", "stop"],
  ["max_tokens", "length"],
  ["model_context_window_exceeded", "length"],
  ["tool_use", "tool_calls"],
  ["refusal", "content_filter"],
]);

/** A stop reason Anthropic adds later still ended the turn: "stop" is the honest default. */
const finishReason = (stopReason: unknown): FinishReason => (typeof stopReason === "string" && FINISH_REASONS.get(stopReason)) || "stop";

/**
 * Token counts as Anthropic reports them. Its input_tokens exclude cached tokens, while OpenAI's
 * prompt_tokens include them, so the cache counts are added back. In a stream the counts are
 * cumulative: a later report replaces an earlier one, field by field.
 */
class TokenTally {
  private input = 0;
  private cacheCreation = 0;
  private cacheRead = 0;
  private output = 0;

  update(usage: unknown) {
    this.input = count(usage, "input_tokens") ?? this.input;
    this.cacheCreation = count(usage, "cache_creation_input_tokens") ?? this.cacheCreation;
    this.cacheRead = count(usage, "cache_read_input_tokens") ?? this.cacheRead;
    this.output = count(usage, "output_tokens") ?? this.output;
  }

  usage(): Usage {
    const prompt = this.input + this.cacheCreation + this.cacheRead;
    return { prompt_tokens: prompt, completion_tokens: this.output, total_tokens: prompt + this.output };
  }
}

const unexpected = () => unavailable(PROVIDER, "answered in an unexpected shape");

function toToolCall(block: JsonObject): ToolCall | undefined {
  const id = str(block, "id");
  const name = str(block, "name");
  if (id === undefined || name === undefined) return undefined;
  return { id, type: "function", function: { name, arguments: JSON.stringify(block.input ?? {}) } };
}

/** A Messages API response as a ChatResult; blocks other than text and tool_use (thinking, ...) are left out. */
function toChatResult(body: unknown): ChatResult {
  if (!isObject(body) || !Array.isArray(body.content)) throw unexpected();
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of body.content) {
    if (!isObject(block)) continue;
    const text = str(block, "text");
    if (block.type === "text" && text !== undefined) texts.push(text);
    const call = block.type === "tool_use" ? toToolCall(block) : undefined;
    if (call) toolCalls.push(call);
  }
  const tally = new TokenTally();
  tally.update(body.usage);
  const message: ChatResult["message"] = { role: "assistant", content: texts.length > 0 ? texts.join("") : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return { message, finish_reason: finishReason(body.stop_reason), usage: tally.usage() };
}

// ---------------------------------------------------------------------------------------------
// Stream: Anthropic's events → OpenAI-style deltas

/** An event's data; JSON.parse tolerates the real server's whitespace padding. */
function parseEvent(data: string): JsonObject {
  const parsed = parseJson(data);
  if (!isObject(parsed)) throw unavailable(PROVIDER, "sent a stream event that could not be read");
  return parsed;
}

/** What spans events: token counts, the stop reason, and which content block is which tool call. */
class StreamState {
  readonly tally = new TokenTally();
  stopReason: unknown = null;
  /** Content-block index → the tool call's ordinal among tool_use blocks, OpenAI's `index`. */
  private readonly toolIndexOfBlock = new Map<number, number>();

  startTool(block: unknown): number {
    const index = this.toolIndexOfBlock.size;
    if (typeof block === "number") this.toolIndexOfBlock.set(block, index);
    return index;
  }
  toolIndex(block: unknown): number | undefined {
    return typeof block === "number" ? this.toolIndexOfBlock.get(block) : undefined;
  }
}

function blockStart(state: StreamState, event: JsonObject): ChatEvent | undefined {
  const block = obj(event, "content_block");
  if (!block) return undefined;
  const text = str(block, "text");
  if (block.type === "text" && text !== undefined && text !== "") return { type: "delta", content: text };
  if (block.type !== "tool_use") return undefined; // thinking, server tools, ...: not part of the OpenAI shape
  const id = str(block, "id");
  const name = str(block, "name");
  if (id === undefined || name === undefined) throw unexpected();
  const index = state.startTool(event.index);
  return { type: "delta", tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] };
}

function blockDelta(state: StreamState, event: JsonObject): ChatEvent | undefined {
  const delta = obj(event, "delta");
  if (!delta) return undefined;
  const text = str(delta, "text");
  if (delta.type === "text_delta" && text !== undefined && text !== "") return { type: "delta", content: text };
  const partial = str(delta, "partial_json");
  if (delta.type !== "input_json_delta" || partial === undefined || partial === "") return undefined;
  // Server tools stream input_json_delta too; only fragments of our tool_use blocks are the caller's.
  const index = state.toolIndex(event.index);
  return index === undefined ? undefined : { type: "delta", tool_calls: [{ index, function: { arguments: partial } }] };
}

/** Anthropic's last event: nothing of the answer follows it. */
const isMessageStop = (event: EventSourceMessage) => event.event === "message_stop";

/**
 * The generator behind `stream()`. It reads the upstream's `events()` with `for await`, so a
 * return or throw here (the consumer stopping, an error event) cancels the upstream body; after
 * `message_stop` the events have ended already and the body's rest is read, not cancelled.
 */
async function* toChatEvents(events: AsyncIterable<EventSourceMessage>, where: StreamLog): AsyncGenerator<ChatEvent> {
  const state = new StreamState();
  for await (const { event, data } of events) {
    switch (event) {
      case "message_start":
        state.tally.update(obj(parseEvent(data), "message")?.usage);
        break;
      case "content_block_start": {
        const delta = blockStart(state, parseEvent(data));
        if (delta) yield delta;
        break;
      }
      case "content_block_delta": {
        const delta = blockDelta(state, parseEvent(data));
        if (delta) yield delta;
        break;
      }
      case "message_delta": {
        const payload = parseEvent(data);
        const stopReason = obj(payload, "delta")?.stop_reason;
        if (stopReason != null) state.stopReason = stopReason;
        state.tally.update(payload.usage);
        break;
      }
      case "message_stop":
        yield { type: "finish", finish_reason: finishReason(state.stopReason) };
        yield { type: "usage", usage: state.tally.usage() };
        return;
      case "error": {
        // After the 200 an error (overloaded_error, ...) can only arrive as an event; its type is the code.
        const error = parseEvent(data).error;
        throw brokeOff(where, { detail: str(error, "message"), code: str(error, "type") });
      }
      default:
        // ping, content_block_stop, and event types Anthropic adds later: nothing to pass on.
        break;
    }
  }
  throw unavailable(PROVIDER, "ended the stream before it was complete");
}

// ---------------------------------------------------------------------------------------------
// The provider

const send = (request: ChatRequest, ctx: ProviderContext, stream: boolean): Promise<UpstreamResponse> =>
  providerCall(UPSTREAM, { path: "/v1/messages", json: toAnthropicRequest(request, stream) }, ctx);

export const anthropic: LlmProvider = {
  id: PROVIDER,
  name: UPSTREAM.name,
  models: MODELS,
  configured: (config) => isConfigured(UPSTREAM, config),

  async complete(request, ctx) {
    return toChatResult(await (await send(request, ctx, false)).json());
  },

  async stream(request, ctx) {
    const upstream = await send(request, ctx, true);
    const where = streamLogOf("llm", UPSTREAM, ctx);
    return releasingEarly(loggedStream(toChatEvents(upstream.events(isMessageStop), where), where), upstream);
  },
};
