import { z } from "@hono/zod-openapi";
import { jsonResponse } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { ChatCompletionRequest, ChatCompletionSchema, ListModelsQuery, ModelListSchema, ProviderListSchema } from "./ai.schemas";

const tags = ["AI"];

export const listModels = defineRoute("public", {
  method: "get",
  path: "/v1/models",
  tags,
  summary: "AI models of every provider",
  description: "The whole catalog in one page (it is small): context window, output limit and capabilities per model.",
  request: { query: ListModelsQuery },
  responses: { 200: jsonResponse(ModelListSchema, "Every model.") },
});

export const listProviders = defineRoute("api_key", {
  method: "get",
  path: "/v1/ai/providers",
  tags,
  summary: "AI providers, and whether this deployment can use them",
  responses: { 200: jsonResponse(ProviderListSchema, "Every provider.") },
});

const chat = (path: string, summary: string) =>
  defineRoute("api_key", {
    method: "post",
    path,
    tags,
    summary,
    description:
      "OpenAI's chat-completions request and response for any provider's model (`model` is `<provider>:<model>`), so OpenAI clients work with `baseURL` set to `<this API>/v1/ai`. " +
      "`stream: true` answers `chat.completion.chunk` server-sent events sent on as they arrive and ending in `data: [DONE]`; a failure after the stream began ends it with an `event: error` carrying the envelope, then `[DONE]`. " +
      "The error envelope is a superset of OpenAI's error body, so OpenAI clients read it.",
    request: { body: { required: true, content: { "application/json": { schema: ChatCompletionRequest } } } },
    responses: {
      200: {
        description: "A `chat.completion`, or with `stream: true` a `text/event-stream` of `chat.completion.chunk` events.",
        content: {
          "application/json": { schema: ChatCompletionSchema },
          "text/event-stream": { schema: z.string().openapi({ example: 'data: {"object":"chat.completion.chunk",...}\n\ndata: [DONE]\n\n' }) },
        },
      },
    },
    errors: ["model.unknown", "provider.not_configured", "provider.unavailable", "provider.timeout", "provider.rate_limited", "provider.rejected"],
  });

export const chatCompletions = chat("/v1/ai/chat/completions", "Chat completion (OpenAI-compatible)");
export const chatAlias = chat("/v1/ai/chat", "Chat completion (alias of /v1/ai/chat/completions)");
