import { z } from "@hono/zod-openapi";
import { USAGE_METRICS } from "../../db/schema";
import { listSchema, paginationQuery } from "../../lib/pagination";

/** A UTC day as the query names it: YYYY-MM-DD, and a day the calendar has. */
const day = (what: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a UTC day, YYYY-MM-DD" })
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), {
      error: "must be a UTC day, YYYY-MM-DD",
    })
    .optional()
    .openapi({ description: what, example: "2026-12-01" });

export const UsageQuery = z.strictObject({
  ...paginationQuery,
  from: day("First UTC day, included (default: 29 days before `to`)."),
  to: day("Last UTC day, included (default: today). At most 366 days from `from`."),
  group_by: z
    .enum(["day", "key"])
    .default("day")
    .openapi({ description: "`day`: a bucket per day (every key); `key`: a bucket per API key (every day of the range)." }),
  metric: z
    .string()
    .transform((value, ctx) => {
      const names = value.split(",");
      const unknown = names.find((n) => !(USAGE_METRICS as readonly string[]).includes(n));
      if (unknown !== undefined) {
        ctx.addIssue({ code: "custom", message: `must be one or more of ${USAGE_METRICS.join(", ")}, separated by commas` });
        return z.NEVER;
      }
      return [...new Set(names)] as (typeof USAGE_METRICS)[number][];
    })
    .optional()
    .openapi({
      type: "string",
      description: `Only these metrics, comma-separated: ${USAGE_METRICS.join(", ")}.`,
      example: "conversation_seconds,tts_characters",
    }),
});

const metricCounts = z
  .object(Object.fromEntries(USAGE_METRICS.map((m) => [m, z.number().int().optional()])) as Record<(typeof USAGE_METRICS)[number], z.ZodOptional<z.ZodNumber>>)
  .openapi("UsageCounts", {
    description:
      "Every metric asked for (all by default), zeros included. `conversation_seconds`: from a conversation's first socket to its end, counted when it ends. `tts_characters`: REST speech, previews not served from cache, and conversation replies. `llm_input_tokens` / `llm_output_tokens`: the AI gateway and conversations, as the provider reported them; `llm_tokens_estimated` says how many of them were estimated instead (about four characters a token). `stt_seconds`: audio transcribed, REST and conversations. `requests`: authenticated requests admitted (WebSocket upgrades included).",
  });

export const UsageBucketSchema = z
  .object({
    object: z.literal("usage"),
    id: z.string().openapi({
      description: "The day, or the API key's id (`none`: usage made without one, by a signed-in user); the list's cursor.",
      example: "2026-12-01",
    }),
    day: z.string().nullable().openapi({ description: "With `group_by=day`." }),
    key_id: z.string().nullable().openapi({ description: "With `group_by=key`; null for usage made without an API key." }),
    usage: metricCounts,
  })
  .openapi("UsageBucket");

export const UsageListSchema = listSchema(UsageBucketSchema, "UsageList");
