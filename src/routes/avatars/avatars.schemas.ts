import { z } from "@hono/zod-openapi";
import { AVATAR_STATUSES, MODEL_FORMATS, RUNTIME_TYPES } from "../../db/schema";
import { TimestampSchema } from "../../lib/openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";

export const AvatarSchema = z
  .object({
    id: z.string().openapi({ example: "av_demo" }),
    object: z.literal("avatar"),
    name: z.string().openapi({ example: "Demo (Mock)" }),
    is_demo: z.boolean().openapi({ description: "True for platform built-in avatars." }),
    runtime_type: z.enum(RUNTIME_TYPES).openapi({ description: "Runtime that serves this avatar." }),
    status: z.enum(AVATAR_STATUSES).openapi({
      description: "`ready` usable; `processing` being fitted or converted; `failed` fitting failed.",
    }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    parent_id: z.string().nullable().openapi({ description: "The character this look belongs to; null for characters." }),
    looks_count: z.number().int().openapi({ description: "Looks of this character visible to you; 0 for looks." }),
    preview_img_url: z.string().nullable(),
    video_url: z.string().nullable(),
    is_favorite: z.boolean().openapi({ description: "Marked as favourite by your organisation." }),
    is_public: z.boolean(),
    active: z.boolean(),
  })
  .openapi("Avatar");

export const AvatarListSchema = listSchema(AvatarSchema, "AvatarList");

const booleanQuery = z
  .enum(["true", "false"])
  .transform((v) => v === "true")
  .openapi({ type: "boolean" });

export const ListAvatarsQuery = z.strictObject({
  ...paginationQuery,
  parent_id: z.string().min(1).optional().openapi({ description: "Only the looks of this character." }),
  is_favorite: booleanQuery.optional().openapi({ description: "Only favourites (true) or only others (false)." }),
  status: z.enum(AVATAR_STATUSES).optional(),
  runtime_type: z.enum(RUNTIME_TYPES).optional(),
});

export const AvatarIdParams = z.object({
  avatar_id: z.string().openapi({ param: { name: "avatar_id", in: "path" }, example: "av_demo" }),
});

export const AvatarModelSchema = z
  .object({
    object: z.literal("avatar_model"),
    avatar_id: z.string().openapi({ example: "av_demo" }),
    runtime_type: z.enum(RUNTIME_TYPES),
    format: z.enum(MODEL_FORMATS),
    url: z.string().openapi({ description: "Served by this API from R2; needs no key; stops working at `expires_at`." }),
    expires_at: TimestampSchema,
  })
  .openapi("AvatarModel");

export const ModelFileQuery = z.strictObject({
  expires: z
    .string()
    .regex(/^\d{1,12}$/, { error: "must be Unix seconds" })
    .openapi({ description: "Unix seconds; part of the signed URL.", example: "4102444800" }),
  signature: z
    .string()
    .min(1)
    .openapi({ description: "HMAC-SHA256 of the URL, base64url; part of the signed URL.", example: "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
});
