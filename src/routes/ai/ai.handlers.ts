import type { Context } from "hono";
import { usageUpserts } from "../../db/usage";
import { checkQuota, quotaHolderOf, reportQuota } from "../../durable-objects/quota-client";
import { type AppEnv, meterOf } from "../../env";
import { ApiError, quote } from "../../lib/errors";
import { SSE_HEADERS } from "../../lib/sse";
import { quotaDeps } from "../../middleware/context";
import { PUBLIC_LIST_TTL_S } from "../../middleware/public-cache";
import { findModel, LLM_PROVIDERS } from "../../providers/llm";
import type { ChatRequest, LlmProvider, ModelInfo } from "../../providers/llm/types";
import { createCompletion, type GatewayRequest, type GatewayUsage, streamCompletion } from "../../services/chat";
import type { HandlerOf } from "../define-route";
import type * as routes from "./ai.routes";
import type { ChatCompletionInput } from "./ai.schemas";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const done = { has_more: false as const, next_cursor: null };

export const listModels: Handler<"listModels"> = (c) => {
  const { provider } = c.req.valid("query");
  const data = LLM_PROVIDERS.filter((p) => provider === undefined || p.id === provider).flatMap((p) =>
    p.models.map((m) => ({
      id: m.id,
      object: "model" as const,
      provider: p.id,
      name: m.name,
      context_window: m.context_window,
      max_output_tokens: m.max_output_tokens,
      capabilities: m.capabilities,
    })),
  );
  // The same for everyone until the next deploy: browsers and CDNs may keep it a while.
  return c.json({ object: "list" as const, data, ...done }, 200, { "Cache-Control": `public, max-age=${PUBLIC_LIST_TTL_S}` });
};

/**
 * `created` of every model in OpenAI's shape: the gateway does not know when a provider made a
 * model, and the request time would change on every call. 2026-01-01T00:00:00Z, the creation time
 * of the platform's built-in records (migrations/0002_platform_records.sql).
 */
const CATALOGUE_CREATED = 1_767_225_600;

/** One model of the catalogue in OpenAI's `GET /models` shape. */
const openAiModel = (provider: LlmProvider, model: ModelInfo) => ({
  id: model.id,
  object: "model" as const,
  created: CATALOGUE_CREATED,
  owned_by: provider.id,
});

export const listAiModels: Handler<"listAiModels"> = (c) =>
  c.json({ object: "list" as const, data: LLM_PROVIDERS.flatMap((p) => p.models.map((m) => openAiModel(p, m))) }, 200);

export const getAiModel: Handler<"getAiModel"> = (c) => {
  const { model_id } = c.req.valid("param");
  const found = findModel(model_id);
  if (!found) throw new ApiError("model.not_found", `No model ${quote(model_id)}; GET /v1/ai/models lists them.`);
  return c.json(openAiModel(found.provider, found.model), 200);
};

export const listProviders: Handler<"listProviders"> = (c) => {
  const config = c.get("config");
  const data = LLM_PROVIDERS.map((p) => ({
    id: p.id,
    object: "ai_provider" as const,
    name: p.name,
    configured: p.configured(config),
    capabilities: {
      streaming: p.models.some((m) => m.capabilities.streaming),
      tools: p.models.some((m) => m.capabilities.tools),
      vision: p.models.some((m) => m.capabilities.vision),
    },
    models: p.models.map((m) => m.id),
  }));
  return c.json({ object: "list" as const, data, ...done }, 200);
};

/** OpenAI's request onto the provider interface: one stop list, one output limit. */
function toGatewayRequest(input: ChatCompletionInput): GatewayRequest {
  const stop = input.stop === null || input.stop === undefined ? undefined : typeof input.stop === "string" ? [input.stop] : input.stop;
  const maxTokens = input.max_completion_tokens ?? input.max_tokens ?? undefined;
  const optional = <K extends keyof ChatRequest>(key: K, value: ChatRequest[K] | null | undefined) =>
    value === null || value === undefined ? {} : { [key]: value };
  return {
    model: input.model,
    messages: input.messages as ChatRequest["messages"],
    stream: input.stream === true,
    include_usage: input.stream_options?.include_usage === true,
    ...optional("temperature", input.temperature),
    ...optional("top_p", input.top_p),
    ...optional("max_tokens", maxTokens),
    ...optional("stop", stop),
    ...optional("tools", input.tools),
    ...optional("tool_choice", input.tool_choice),
    ...optional("parallel_tool_calls", input.parallel_tool_calls),
    ...optional("response_format", input.response_format as ChatRequest["response_format"]),
    ...optional("frequency_penalty", input.frequency_penalty),
    ...optional("presence_penalty", input.presence_penalty),
    ...optional("user", input.user),
    ...optional("seed", input.seed),
  };
}

async function answer(c: Context<AppEnv>, input: ChatCompletionInput): Promise<Response> {
  const request = toGatewayRequest(input);
  const db = c.get("db");
  const meter = meterOf(c.get("auth"));
  const holder = quotaHolderOf(c.get("auth"));
  // Tokens are only known at the end: refused when the quota is already reached, counted after.
  await checkQuota(quotaDeps(c), holder, "llm_tokens");
  const onUsage = (u: GatewayUsage) => {
    const log = c.get("log");
    const [first, ...rest] = usageUpserts(db, meter, { llm_input_tokens: u.input, llm_output_tokens: u.output, llm_tokens_estimated: u.estimated }, Date.now());
    if (first) c.executionCtx.waitUntil(db.batch([first, ...rest]).catch((err: unknown) => log.warn("usage not recorded", { error: err })));
    c.executionCtx.waitUntil(
      reportQuota(quotaDeps(c), holder, "llm_tokens", u.input + u.output).catch((err: unknown) => log.warn("quota not counted", { error: err })),
    );
  };
  const deps = { config: c.get("config"), log: c.get("log"), requestId: c.get("requestId"), onUsage };
  if (request.stream) return new Response(await streamCompletion(request, deps), { headers: SSE_HEADERS });
  return c.json(await createCompletion(request, deps, c.req.raw.signal), 200);
}

export const chatCompletions: Handler<"chatCompletions"> = (c) => answer(c, c.req.valid("json"));
export const chatAlias: Handler<"chatAlias"> = (c) => answer(c, c.req.valid("json"));
