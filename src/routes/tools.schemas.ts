import { z } from "@hono/zod-openapi";
import { BUILTIN_TOOLS, DEFAULT_TOOL_TIMEOUT_MS, MAX_TOOL_TIMEOUT_MS, MAX_TOOLS, REDACTED } from "../db/tools";
import { CONTROL_CHARACTERS, textField } from "../lib/text";
import { WEBHOOK_URL_MAX_CHARS } from "../lib/webhook-urls";

/**
 * `tools` of a persona or a conversation, as requests write them and responses show them. What a
 * schema cannot check (a server tool's URL against the webhook URL policy, which depends on the
 * deployment's settings) is checked by services/tools.ts.
 */

/** As OpenAI allows function names: what every provider here accepts. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** A JSON Schema of arguments is sent to the model on every turn: bounded like a prompt. */
export const MAX_PARAMETERS_CHARS = 8_192;
const MAX_HEADERS = 10;
/** Headers the call sets itself, or that would make it another request. */
const RESERVED_HEADERS = /^(content-type|content-length|host|user-agent|connection|transfer-encoding|webhook-.*)$/i;
/** Standard Webhooks: `whsec_` and 24 to 64 random bytes in base64. */
const SECRET = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

const parameters = z
  .record(z.string(), z.unknown())
  .refine((schema) => schema.type === "object", { error: "must be a JSON Schema whose 'type' is 'object'" })
  .refine((schema) => JSON.stringify(schema).length <= MAX_PARAMETERS_CHARS, { error: `must be at most ${MAX_PARAMETERS_CHARS} characters as JSON` })
  .openapi({
    description: "A JSON Schema object of the arguments.",
    example: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
  });

const common = {
  name: z
    .string()
    .regex(TOOL_NAME, { error: "must be 1-64 letters, digits, _ or -" })
    .refine((name) => !Object.hasOwn(BUILTIN_TOOLS, name), { error: `must not be a built-in tool's (${Object.keys(BUILTIN_TOOLS).join(", ")})` })
    .openapi({ example: "get_order_status" }),
  description: textField({ min: 0, max: 1024, multiline: true }).default("").openapi({ description: "Tells the model when to call it." }),
  parameters: parameters.default({ type: "object", properties: {} }),
  timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(MAX_TOOL_TIMEOUT_MS)
    .default(DEFAULT_TOOL_TIMEOUT_MS)
    .openapi({ description: `100..${MAX_TOOL_TIMEOUT_MS}: no answer by then is a tool error the model is told about.` }),
  filler: z
    .union([textField({ max: 200 }), z.literal(false)])
    .optional()
    .openapi({ description: "Said once when the tool has not answered within a second; `false`: say nothing; left out: the language's default." }),
};

const ClientToolInput = z.strictObject({
  type: z.literal("client"),
  ...common,
  client: z.boolean().default(false).openapi({ description: "A browser's socket (client secret) may answer it; API-key sockets always may." }),
});

const ServerToolInput = z.strictObject({
  type: z.literal("server"),
  ...common,
  url: z
    .string()
    .min(1)
    .max(WEBHOOK_URL_MAX_CHARS)
    .openapi({ description: "https:, public: the webhook URL policy applies.", example: "https://shop.example.com/tools/order" }),
  headers: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/, { error: "must be a header name" })
        .refine((name) => !RESERVED_HEADERS.test(name), { error: "is set by the call itself" }),
      z
        .string()
        .min(1)
        .max(2048)
        .refine((v) => !CONTROL_CHARACTERS.test(v), { error: "must not contain control characters" }),
    )
    .refine((h) => Object.keys(h).length <= MAX_HEADERS, { error: `must have at most ${MAX_HEADERS} headers` })
    .default({})
    .openapi({ description: `Sent with every call (at most ${MAX_HEADERS}); write-only: shown as "${REDACTED}".`, example: { "X-Api-Key": "shop-secret" } }),
  secret: z
    .string()
    .regex(SECRET, { error: "must be 'whsec_' and 24 to 64 bytes in base64" })
    .optional()
    .openapi({ description: "Signs every call (Standard Webhooks). Left out: one is generated, shown in this response only." }),
});

export const ToolInput = z.discriminatedUnion("type", [ClientToolInput, ServerToolInput]);

export const ToolsInput = z
  .array(ToolInput)
  .max(MAX_TOOLS)
  .superRefine((tools, ctx) => {
    const seen = new Set<string>();
    tools.forEach((tool, i) => {
      if (seen.has(tool.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: "must be unique among the tools" });
      seen.add(tool.name);
    });
  })
  .openapi({
    description: `At most ${MAX_TOOLS} tools the model may call (names unique). Built in, without a definition: ${Object.keys(BUILTIN_TOOLS).join(", ")}.`,
  });

const toolOutput = {
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  timeout_ms: z.number().int(),
  filler: z
    .union([z.string(), z.literal(false)])
    .nullable()
    .openapi({ description: "null: the language's default." }),
};

export const ToolSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("client"), ...toolOutput, client: z.boolean() }),
    z.object({
      type: z.literal("server"),
      ...toolOutput,
      url: z.string(),
      headers: z.record(z.string(), z.literal(REDACTED)).openapi({ description: "The names of the headers sent; their values are never shown." }),
      secret: z.string().optional().openapi({ description: "Only in the response of the request that generated it." }),
    }),
  ])
  .openapi("Tool");
