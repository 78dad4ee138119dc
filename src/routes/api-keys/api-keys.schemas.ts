import { z } from "@hono/zod-openapi";
import { API_KEY_MODES } from "../../db/schema";
import { TimestampSchema } from "../../lib/openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";

const quota = z.number().int().min(0).max(1_000_000_000_000).optional();

export const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: "key_01JD0000000000000000000000" }),
    object: z.literal("api_key"),
    name: z.string(),
    mode: z.enum(API_KEY_MODES),
    prefix: z.string().openapi({ example: "av_live_AbC1", description: "The first 12 characters, to recognise the key." }),
    last4: z.string().openapi({ example: "x9Zq" }),
    created_at: TimestampSchema,
    last_used_at: TimestampSchema.nullable().openapi({ description: "Updated at most once a minute." }),
    revoked_at: TimestampSchema.nullable(),
    quotas: z
      .object({
        conversation_seconds: z.number().int().nullable(),
        tts_characters: z.number().int().nullable(),
        llm_tokens: z.number().int().nullable(),
      })
      .openapi("ApiKeyQuotas", {
        description: "This key's own daily quotas (UTC days), on top of its organisation's; null: only the organisation's applies.",
      }),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  secret: z.string().openapi({ description: "The key itself. Shown in this response only; store it now.", example: "av_live_…" }),
}).openapi("CreatedApiKey");

export const ApiKeyListSchema = listSchema(ApiKeySchema, "ApiKeyList");

export const ListApiKeysQuery = z.strictObject({ ...paginationQuery });

export const CreateApiKeyBody = z
  .strictObject({
    name: textField({ max: 100 }).openapi({ example: "Production backend" }),
    mode: z.enum(API_KEY_MODES).default("live").openapi({ description: "`live` (default) or `test`: the key's prefix says which." }),
    quotas: z
      .strictObject({
        conversation_seconds: quota.openapi({ description: "Seconds of conversations this key creates, a day.", example: 600 }),
        tts_characters: quota.openapi({ description: "Characters of speech, a day (REST and its conversations' replies)." }),
        llm_tokens: quota.openapi({ description: "Model tokens, input and output, a day (the AI gateway and its conversations)." }),
      })
      .optional()
      .openapi({
        description:
          "Daily caps for this key alone (e.g. a demo site's key), enforced like the organisation's: over one, `402 quota_exceeded`. Left out: only the organisation's quotas apply.",
      }),
  })
  .openapi("CreateApiKeyRequest");

export const ApiKeyIdParams = z.object({
  key_id: z.string().openapi({ param: { name: "key_id", in: "path" }, example: "key_01JD0000000000000000000000" }),
});
