import type { Config } from "../../config";
import type { ProviderContext } from "../context";

/**
 * The one interface of chat providers. Requests and results are in OpenAI's chat-completions shape
 * (the lingua franca every provider here is translated to and from); the gateway route and the
 * conversation pipeline both call providers through it and never reach an upstream themselves.
 */

export type LlmProviderId = "mock" | "openai" | "anthropic" | "groq";

export interface TextPart {
  type: "text";
  text: string;
}
export interface ImagePart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}
export type ContentPart = TextPart | ImagePart;

export interface ToolCall {
  id: string;
  type: "function";
  /** `arguments` is a JSON text, as OpenAI sends it. */
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: "system" | "developer"; content: string | TextPart[]; name?: string }
  | { role: "user"; content: string | ContentPart[]; name?: string }
  | { role: "assistant"; content: string | TextPart[] | null; tool_calls?: ToolCall[]; name?: string }
  | { role: "tool"; content: string | TextPart[]; tool_call_id: string };

export interface ToolDefinition {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** A chat request for one provider; `model` is the provider's own name (no `provider:` prefix). */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  /** Upper bound of generated tokens (OpenAI's `max_tokens` / `max_completion_tokens`). */
  max_tokens?: number;
  stop?: string[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  frequency_penalty?: number;
  presence_penalty?: number;
  user?: string;
  seed?: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface ChatResult {
  message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[] };
  finish_reason: FinishReason;
  usage: Usage;
}

/** One fragment of a streamed tool call, as in OpenAI's `delta.tool_calls`. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/**
 * What a stream yields, in order: any number of deltas, then exactly one `finish`, then (when the
 * provider reports it) one `usage`. An upstream failure midway is thrown by the iterator as an
 * `ApiError` (provider.unavailable / provider.timeout); the consumer decides how to surface it.
 */
export type ChatEvent =
  | { type: "delta"; content?: string; tool_calls?: ToolCallDelta[] }
  | { type: "finish"; finish_reason: FinishReason }
  | { type: "usage"; usage: Usage };

export interface ModelInfo {
  /** The public id, `<provider>:<name>`. */
  id: string;
  /** The provider's own name for it. */
  name: string;
  context_window: number;
  max_output_tokens: number;
  capabilities: { streaming: boolean; tools: boolean; vision: boolean };
}

export interface LlmProvider {
  readonly id: LlmProviderId;
  /** Human name, e.g. "OpenAI". */
  readonly name: string;
  readonly models: readonly ModelInfo[];
  /** Whether this deployment has credentials for it (the mock always does). */
  configured(config: Config): boolean;
  complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult>;
  /**
   * Resolves once the upstream has accepted the request (its status is known), so failures before
   * the first byte are thrown here and can still become an HTTP error; later ones are thrown by the
   * iterator. Returning early from the iterator (or aborting `ctx.signal`) cancels the upstream.
   */
  stream(request: ChatRequest, ctx: ProviderContext): Promise<AsyncIterable<ChatEvent>>;
}
