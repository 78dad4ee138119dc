import { z } from "@hono/zod-openapi";

/**
 * OpenAI's chat-completions request, as OpenAI clients send it. The top level is strict (an unknown
 * parameter is `400 parameter.unknown`, our convention); messages and their parts drop fields they
 * do not know, because clients send assistant messages back as they received them (`refusal`,
 * `annotations`, ...).
 */

const TextPart = z.object({ type: z.literal("text"), text: z.string() });
const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({ url: z.string().min(1), detail: z.enum(["auto", "low", "high"]).optional() }),
});
const ToolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const Message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.union([z.string(), z.array(TextPart)]), name: z.string().optional() }),
  z.object({ role: z.literal("developer"), content: z.union([z.string(), z.array(TextPart)]), name: z.string().optional() }),
  z.object({
    role: z.literal("user"),
    content: z.union([z.string(), z.array(z.discriminatedUnion("type", [TextPart, ImagePart]))]),
    name: z.string().optional(),
  }),
  z.object({
    role: z.literal("assistant"),
    content: z
      .union([z.string(), z.array(TextPart)])
      .nullable()
      .default(null),
    tool_calls: z.array(ToolCall).optional(),
    name: z.string().optional(),
  }),
  z.object({ role: z.literal("tool"), content: z.union([z.string(), z.array(TextPart)]), tool_call_id: z.string().min(1) }),
]);

const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const Tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().regex(FUNCTION_NAME, { error: "must be 1-64 letters, digits, _ or -" }),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoice = z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) })]);

const ResponseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const ChatCompletionRequest = z
  .strictObject({
    model: z.string().min(1).openapi({ description: "`<provider>:<model>` from GET /v1/models.", example: "mock:echo" }),
    messages: z.array(Message).min(1),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    max_tokens: z
      .number()
      .int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ description: "Deprecated by OpenAI in favour of max_completion_tokens; either works." }),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4)])
      .nullable()
      .optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullable().optional(),
    tools: z.array(Tool).max(128).optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: ResponseFormat.optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    // A union rather than `.nullable()`, which would publish `enum: [1]` without the null it accepts.
    n: z.union([z.literal(1, { error: "only 1 choice per request is supported" }), z.null()]).optional(),
    user: z.string().max(256).optional(),
    seed: z.number().int().nullable().optional(),
  })
  .openapi("ChatCompletionRequest");

export type ChatCompletionInput = z.infer<typeof ChatCompletionRequest>;

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

export const ChatCompletionSchema = z
  .object({
    id: z.string().openapi({ example: "chatcmpl-01JD0000000000000000000000" }),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string().openapi({ example: "mock:echo" }),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal("assistant"), content: z.string().nullable(), tool_calls: z.array(ToolCall).optional(), refusal: z.null() }),
        logprobs: z.null(),
        finish_reason: z.enum(["stop", "length", "tool_calls", "content_filter"]),
      }),
    ),
    usage: Usage,
    system_fingerprint: z.null(),
  })
  .openapi("ChatCompletion");

const Capabilities = z.object({ streaming: z.boolean(), tools: z.boolean(), vision: z.boolean() });

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: "openai:gpt-4o-mini" }),
    object: z.literal("model"),
    provider: z.string().openapi({ example: "openai" }),
    name: z.string().openapi({ description: "The provider's own name for it.", example: "gpt-4o-mini" }),
    context_window: z.number().int(),
    max_output_tokens: z.number().int(),
    capabilities: Capabilities,
  })
  .openapi("Model");

export const ModelListSchema = z
  .object({ object: z.literal("list"), data: z.array(ModelSchema), has_more: z.literal(false), next_cursor: z.null() })
  .openapi("ModelList");

export const ListModelsQuery = z.strictObject({
  provider: z.enum(["mock", "openai", "anthropic", "groq"]).optional().openapi({ description: "Only this provider's models." }),
});

export const ProviderSchema = z
  .object({
    id: z.string().openapi({ example: "openai" }),
    object: z.literal("ai_provider"),
    name: z.string().openapi({ example: "OpenAI" }),
    configured: z.boolean().openapi({ description: "Whether this deployment has credentials for it; the mock always has." }),
    capabilities: Capabilities.openapi({ description: "What at least one of its models can do." }),
    models: z.array(z.string()),
  })
  .openapi("AiProvider");

export const ProviderListSchema = z
  .object({ object: z.literal("list"), data: z.array(ProviderSchema), has_more: z.literal(false), next_cursor: z.null() })
  .openapi("AiProviderList");

/**
 * The gateway's models as OpenAI's `GET /models` shows them, so OpenAI clients' `models.list()` and
 * `models.retrieve()` work with `baseURL` set to `<this API>/v1/ai`. The catalogue is the one of
 * `GET /v1/models` (same ids, same order); that route keeps its richer shape.
 */
export const AiModelSchema = z
  .object({
    id: z
      .string()
      .openapi({ description: "`<provider>:<model>`, as `model` of a chat completion takes it.", example: "groq:meta-llama/llama-4-scout-17b-16e-instruct" }),
    object: z.literal("model"),
    created: z.number().int().openapi({
      description:
        "Unix seconds. The gateway does not know when a provider made a model, so every model of the catalogue answers the same fixed 1767225600 (2026-01-01T00:00:00Z, the date of the platform's built-in records): stable across requests and deploys.",
      example: 1767225600,
    }),
    owned_by: z.string().openapi({ description: "The provider that serves it (the part of `id` before `:`).", example: "groq" }),
  })
  .openapi("AiModel");

export const AiModelListSchema = z
  .object({ object: z.literal("list"), data: z.array(AiModelSchema) })
  .openapi("AiModelList", { description: "The whole catalogue in one page, in OpenAI's shape (no `has_more`: there is no next page)." });

export const AiModelIdParams = z.object({
  model_id: z.string().openapi({
    param: { name: "model_id", in: "path" },
    description:
      "A model id from `GET /v1/ai/models`, path-encoded: a `/` inside it is sent as `%2F` (the OpenAI Node client does this); `:` may be sent as it is or as `%3A`.",
    example: "groq:meta-llama/llama-4-scout-17b-16e-instruct",
  }),
});
