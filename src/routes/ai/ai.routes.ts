import { jsonResponse } from "../../lib/openapi";
import { defineRoute, PROVIDER_ERRORS } from "../define-route";
import {
  AiModelIdParams,
  AiModelListSchema,
  AiModelSchema,
  ChatCompletionRequest,
  ChatCompletionSchema,
  ListModelsQuery,
  ModelListSchema,
  ProviderListSchema,
} from "./ai.schemas";

const tags = ["AI"];

export const listModels = defineRoute("public", {
  method: "get",
  path: "/v1/models",
  operationId: "listModels",
  tags,
  summary: "AI models of every provider",
  description: "The whole catalog in one page (it is small): context window, output limit and capabilities per model.",
  request: { query: ListModelsQuery },
  responses: { 200: jsonResponse(ModelListSchema, "Every model.") },
});

export const listProviders = defineRoute("api_key", {
  method: "get",
  path: "/v1/ai/providers",
  operationId: "listAiProviders",
  tags,
  summary: "AI providers, and whether this deployment can use them",
  responses: { 200: jsonResponse(ProviderListSchema, "Every provider.") },
});

const OPENAI_SHAPE =
  "The catalogue of `GET /v1/models` (same ids, same order) in OpenAI's shape, so OpenAI clients' `models.list()` and `models.retrieve()` work with `baseURL` set to `<this API>/v1/ai`. " +
  "`owned_by` is the provider; `created` is the fixed 1767225600 (2026-01-01T00:00:00Z) for every model, stable across requests and deploys.";

export const listAiModels = defineRoute("api_key", {
  method: "get",
  path: "/v1/ai/models",
  operationId: "listAiModels",
  tags,
  summary: "AI models (OpenAI-compatible)",
  description: `${OPENAI_SHAPE} One page, without \`has_more\`: the catalogue is small.`,
  responses: { 200: jsonResponse(AiModelListSchema, "Every model.") },
});

export const getAiModel = defineRoute("api_key", {
  method: "get",
  path: "/v1/ai/models/{model_id}",
  operationId: "getAiModel",
  tags,
  summary: "One AI model (OpenAI-compatible)",
  description: `${OPENAI_SHAPE} An id that is not in the catalogue is \`404 model.not_found\`.`,
  request: { params: AiModelIdParams },
  responses: { 200: jsonResponse(AiModelSchema, "The model.") },
  errors: ["model.not_found"],
});

const chat = (path: string, operationId: string, summary: string) =>
  defineRoute("api_key", {
    method: "post",
    path,
    operationId,
    tags,
    summary,
    description:
      "OpenAI's chat-completions request and response for any provider's model (`model` is `<provider>:<model>`), so OpenAI clients work with `baseURL` set to `<this API>/v1/ai`. " +
      "`stream: true` answers `chat.completion.chunk` server-sent events sent on as they arrive and ending in `data: [DONE]`; a failure after the stream began ends it with an `event: error` carrying the envelope, then `[DONE]`. " +
      "The error envelope is a superset of OpenAI's error body, so OpenAI clients read it.",
    request: { body: { required: true, content: { "application/json": { schema: ChatCompletionRequest } } } },
    responses: { 200: jsonResponse(ChatCompletionSchema, "A `chat.completion`.") },
    stream: {
      status: 200,
      description: `\`chat.completion.chunk\` events in OpenAI's shape, each a \`data:\` line, ending in \`data: [DONE]\`; a failure after the stream began is an \`event: error\` carrying the envelope, then \`[DONE]\`. Example: \`data: {"object":"chat.completion.chunk",...}\` … \`data: [DONE]\`.`,
    },
    errors: ["model.unknown", "quota.llm_tokens", ...PROVIDER_ERRORS],
  });

export const chatCompletions = chat("/v1/ai/chat/completions", "createChatCompletion", "Chat completion (OpenAI-compatible)");
/** The same operation under the contract's shorter path; its own operationId, as OpenAPI requires one per operation. */
export const chatAlias = chat("/v1/ai/chat", "createChatCompletionAlias", "Chat completion (alias of /v1/ai/chat/completions)");
