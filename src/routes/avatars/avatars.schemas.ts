import { z } from "@hono/zod-openapi";
import { AVATAR_STATUSES, MODEL_FORMATS, RUNTIME_TYPES, SOURCE_FORMATS } from "../../db/schema";
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
    source_format: z.enum(SOURCE_FORMATS).nullable().openapi({ description: "What a custom avatar was uploaded as; null for avatars of the platform." }),
    failure: z
      .object({
        code: z.string().openapi({ example: "avatar.format_invalid" }),
        message: z.string().openapi({ example: "The PLY header says 120000 splats but the file holds 11950 (its size is 3000427 bytes)." }),
      })
      .nullable()
      .openapi({
        description:
          "Why processing failed (`status: failed`), and what to fix: `avatar.upload_missing`, `avatar.format_invalid`, `avatar.too_large`, `avatar.processing_failed`; null otherwise.",
      }),
  })
  .openapi("Avatar");

const UploadSchema = z
  .object({
    url: z.string().openapi({ description: "Signed URL of this API: `PUT` the file's bytes to it, once, before `expires_at`. It needs no key." }),
    method: z.literal("PUT"),
    expires_at: TimestampSchema,
    max_bytes: z.number().int().openapi({ example: 209715200 }),
  })
  .openapi("AvatarUpload");

export const CreatedAvatarSchema = AvatarSchema.extend({ upload: UploadSchema }).openapi("CreatedAvatar");

const name = z.string().trim().min(1).max(200);

export const CreateAvatarBody = z
  .strictObject({
    name,
    parent_id: z.string().min(1).nullable().optional().openapi({ description: "One of your characters: the new avatar is a look of it." }),
    is_public: z.boolean().optional().openapi({ description: "Visible to every organisation (default false)." }),
    runtime_type: z.enum(RUNTIME_TYPES).openapi({ description: "`gaussian` for `ply`, `splat` and `glb` uploads, `mock` for `image`." }),
    source_format: z.enum(SOURCE_FORMATS).openapi({
      description:
        "`ply`: a 3D Gaussian Splatting PLY (binary little endian; x, y, z, f_dc_0..2, opacity, scale_0..2, rot_0..3), converted to `.splat`; `splat`: the 32-byte `.splat` layout, checked and sorted; `glb`: glTF 2.0 binary, checked; `image`: a PNG or JPEG for the mock runtime, used as the preview.",
    }),
  })
  .openapi("CreateAvatarRequest");

export const UpdateAvatarBody = z
  .strictObject({
    name: name.optional(),
    is_public: z.boolean().optional(),
    active: z.boolean().optional().openapi({ description: "An inactive avatar cannot start conversations." }),
  })
  .openapi("UpdateAvatarRequest");

export const DeletedAvatarSchema = z
  .object({ id: z.string().openapi({ example: "av_01KJXMPK00R52WS9AE0Y6BT6W5" }), object: z.literal("avatar"), deleted: z.literal(true) })
  .openapi("DeletedAvatar");

export const PreviewParams = z.object({
  avatar_id: z.string().openapi({ param: { name: "avatar_id", in: "path" } }),
  token: z.string().openapi({ param: { name: "token", in: "path" }, description: "Part of the preview's URL, as `preview_img_url` gives it." }),
});

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
    metadata: z
      .object({
        bytes: z.number().int(),
        splat_count: z.number().int().nullable(),
        bounds: z.object({ min: z.array(z.number()).length(3), max: z.array(z.number()).length(3) }).nullable(),
        image: z.object({ width: z.number().int(), height: z.number().int() }).nullable(),
      })
      .nullable()
      .openapi({
        description: "What processing measured of an uploaded avatar's model (its size, splats and their bounds, or the image); null for platform avatars.",
      }),
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

/** The uploaded file, as bytes (any media type). */
export const AvatarFileBody = z.any().openapi("AvatarFile", { type: "string", format: "binary", description: "The file's bytes." });
