import type { Config } from "../config";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { sseEvent } from "../lib/sse";
import { requireModel } from "../providers/llm";
import { estimateMessages, estimateTokens } from "../providers/llm/estimate";
import type { ChatEvent, ChatRequest, LlmProvider, ModelInfo, Usage } from "../providers/llm/types";
import { CallerGone } from "../providers/upstream";

/**
 * The AI gateway: an OpenAI chat-completions request for any provider's model, answered in
 * OpenAI's wire format (`chat.completion`, or `chat.completion.chunk` server-sent events ending in
 * `data: [DONE]`), whatever the provider speaks upstream.
 */

export interface GatewayRequest extends Omit<ChatRequest, "model"> {
  /** `<provider>:<model>` */
  model: string;
  stream: boolean;
  include_usage: boolean;
}

/** What a completion consumed, for the org's usage; `estimated` of the tokens when the provider reported none. */
export interface GatewayUsage {
  input: number;
  output: number;
  estimated: number;
}

interface Deps {
  config: Config;
  log: Logger;
  /** The request's id, reused in the completion's id so a client and the log can be matched. */
  requestId: string;
  /** Called once per completion, however it ended (a stream cut short or cancelled included). */
  onUsage: (usage: GatewayUsage) => void;
}

/** The provider's usage, or an estimate of what was sent and what came back. */
function usageOf(reported: Usage | undefined, request: GatewayRequest, outputText: string): GatewayUsage {
  if (reported) return { input: reported.prompt_tokens, output: reported.completion_tokens, estimated: 0 };
  const input = estimateMessages(request.messages);
  const output = outputText === "" ? 0 : estimateTokens(outputText);
  return { input, output, estimated: input + output };
}

/** The provider and model of a request, or the error that says why not (422, 503). */
function route(model: string, config: Config): { provider: LlmProvider; model: ModelInfo } {
  const found = requireModel(model);
  if (!found.provider.configured(config)) {
    throw new ApiError(
      "provider.not_configured",
      `${found.provider.name} is not configured on this deployment; use another model (the mock:* models always work).`,
    );
  }
  return found;
}

const completionId = (requestId: string) => `chatcmpl-${requestId.slice("req_".length)}`;
const unixSeconds = () => Math.floor(Date.now() / 1000);

export async function createCompletion(request: GatewayRequest, deps: Deps, signal: AbortSignal) {
  const { provider, model } = route(request.model, deps.config);
  const result = await provider.complete({ ...request, model: model.name }, { signal, config: deps.config, log: deps.log });
  deps.onUsage(usageOf(result.usage, request, ""));
  return {
    id: completionId(deps.requestId),
    object: "chat.completion" as const,
    created: unixSeconds(),
    model: model.id,
    choices: [
      {
        index: 0,
        message: { ...result.message, refusal: null },
        logprobs: null,
        finish_reason: result.finish_reason,
      },
    ],
    usage: result.usage,
    system_fingerprint: null,
  };
}

/**
 * Streams the completion as server-sent events, each upstream chunk sent on as soon as it arrives.
 * Errors before the upstream accepted the request are thrown (they still become an HTTP error);
 * later ones end the stream with an `error` event and `[DONE]`, never a hang. A client that goes
 * away cancels the stream, which aborts the upstream request.
 */
export async function streamCompletion(request: GatewayRequest, deps: Deps): Promise<ReadableStream<Uint8Array>> {
  const { provider, model } = route(request.model, deps.config);
  const abort = new AbortController();
  const events = await provider.stream({ ...request, model: model.name }, { signal: abort.signal, config: deps.config, log: deps.log });
  const iterator = events[Symbol.asyncIterator]();

  const base = {
    id: completionId(deps.requestId),
    object: "chat.completion.chunk" as const,
    created: unixSeconds(),
    model: model.id,
    system_fingerprint: null,
  };
  // With include_usage, OpenAI sends `usage: null` on every chunk and the totals in a last one.
  const usageField = request.include_usage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    sseEvent({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...usageField });
  let started = false;
  let usage: Usage | undefined;
  // What came back, for an estimate when the provider reports no usage (or the stream is cut short).
  let output = "";
  let metered = false;
  const meter = () => {
    if (metered) return;
    metered = true;
    deps.onUsage(usageOf(usage, request, output));
  };

  const toBytes = (event: ChatEvent): Uint8Array | undefined => {
    if (event.type === "delta") {
      output += (event.content ?? "") + (event.tool_calls ? JSON.stringify(event.tool_calls) : "");
      return chunk({ ...(event.content === undefined ? {} : { content: event.content }), ...(event.tool_calls ? { tool_calls: event.tool_calls } : {}) });
    }
    if (event.type === "finish") return chunk({}, event.finish_reason);
    usage = event.usage;
    return undefined;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(chunk({ role: "assistant", content: "" }));
      }
      try {
        // One upstream event per pull: nothing is held back, nothing is buffered ahead.
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            meter();
            if (request.include_usage && usage) controller.enqueue(sseEvent({ ...base, choices: [], usage }));
            controller.enqueue(sseEvent("[DONE]"));
            controller.close();
            return;
          }
          const bytes = toBytes(next.value);
          if (bytes) {
            controller.enqueue(bytes);
            return;
          }
        }
      } catch (err) {
        meter();
        if (err instanceof CallerGone) return controller.close();
        const apiError = err instanceof ApiError ? err : new ApiError("provider.unavailable", `${provider.name} broke off the stream; try again shortly.`);
        if (!(err instanceof ApiError)) deps.log.error("chat stream failed", { error: err, model: model.id });
        controller.enqueue(sseEvent(apiError.body(deps.requestId), "error"));
        controller.enqueue(sseEvent("[DONE]"));
        controller.close();
      }
    },
    async cancel() {
      meter();
      abort.abort();
      await iterator.return?.();
    },
  });
}
