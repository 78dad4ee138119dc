import { z } from "@hono/zod-openapi";
import { cacheControl, header, jsonResponse } from "../../lib/openapi";
import { MAX_UPLOAD_BYTES } from "../../services/avatar-uploads";
import { defineRoute } from "../define-route";
import {
  AvatarFileBody,
  AvatarIdParams,
  AvatarListSchema,
  AvatarModelSchema,
  AvatarSchema,
  CreateAvatarBody,
  CreatedAvatarSchema,
  DeletedAvatarSchema,
  ListAvatarsQuery,
  ModelFileQuery,
  PreviewParams,
  UpdateAvatarBody,
} from "./avatars.schemas";

const tags = ["Avatars"];

export const listAvatars = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars",
  operationId: "listAvatars",
  tags,
  summary: "List avatars",
  description: "Platform avatars, public avatars and your own, newest first.",
  request: { query: ListAvatarsQuery },
  responses: { 200: jsonResponse(AvatarListSchema, "A page of avatars.") },
});

export const getAvatar = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars/{avatar_id}",
  operationId: "getAvatar",
  tags,
  summary: "Retrieve an avatar",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar.") },
  errors: ["avatar.not_found"],
});

export const getAvatarModel = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model",
  operationId: "getAvatarModel",
  tags,
  summary: "Where to download the avatar's runtime model",
  request: { params: AvatarIdParams },
  responses: {
    200: {
      ...jsonResponse(AvatarModelSchema, "A signed, expiring download URL (it downloads without a key until it expires)."),
      headers: cacheControl("no-store"),
    },
  },
  errors: ["avatar.not_found", "avatar.not_a_look", "avatar.not_ready", "config.secret_missing"],
});

const binary = { schema: { type: "string" as const, format: "binary" } };
/** A model file's media type follows its format: a `.splat` or `.ply` is octet-stream, a `.glb` glTF binary, a mock model JSON. */
const MODEL_FILE_CONTENT = { "application/octet-stream": binary, "model/gltf-binary": binary, "application/json": binary };
const MODEL_FILE_HEADERS = {
  ETag: header("The stored object's entity tag; send it back in `If-None-Match`."),
  "Accept-Ranges": header("`bytes`."),
  "Cache-Control": header("`private, max-age=<seconds until the URL expires>`: cacheable only as long as the signed URL is valid."),
};
// Lower-case keys: Hono reads request headers lower-cased (and header names are case-insensitive).
// The handler reads the raw headers; these are here to be documented.
const ModelFileHeaders = z.object({
  // No `example`: Swagger UI would pre-fill it, and "Try it out" would fetch one KiB by default.
  range: z.string().optional().openapi({ description: "`Range`: one byte range, e.g. `bytes=0-1023` or `bytes=-500`." }),
  "if-none-match": z.string().optional().openapi({ description: "`If-None-Match`: an ETag from an earlier answer; `304` when unchanged." }),
});

export const downloadAvatarModel = defineRoute("public", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model/file",
  operationId: "downloadAvatarModel",
  tags,
  summary: "Download a model through a signed URL",
  description:
    "The URL from `GET /v1/avatars/{avatar_id}/model`; the signature is the authorisation. Readable from any origin. " +
    "Honours `If-None-Match` and a single byte `Range` (RFC 9110): a malformed or multi-range header is ignored (200, whole file), " +
    "an unsatisfiable one is `416 range.not_satisfiable` with `Content-Range: bytes */<size>`.",
  request: { params: AvatarIdParams, query: ModelFileQuery, headers: ModelFileHeaders },
  responses: {
    200: { description: "The whole file.", headers: MODEL_FILE_HEADERS, content: MODEL_FILE_CONTENT },
    206: {
      description: "The requested byte range.",
      headers: { ...MODEL_FILE_HEADERS, "Content-Range": header("`bytes <first>-<last>/<size>`.") },
      content: MODEL_FILE_CONTENT,
    },
    304: {
      description: "Not modified: `If-None-Match` named the current ETag.",
      headers: { ETag: MODEL_FILE_HEADERS.ETag, "Cache-Control": MODEL_FILE_HEADERS["Cache-Control"] },
    },
  },
  errors: ["signature.invalid", "signature.expired", "avatar.not_found", "range.not_satisfiable", "config.secret_missing"],
});

export const favoriteAvatar = defineRoute("api_key", {
  method: "put",
  path: "/v1/avatars/{avatar_id}/favorite",
  operationId: "favoriteAvatar",
  tags,
  summary: "Mark an avatar as a favourite of your organisation",
  description: "Idempotent. Answers the avatar.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar, `is_favorite: true`.") },
  errors: ["avatar.not_found"],
});

export const unfavoriteAvatar = defineRoute("api_key", {
  method: "delete",
  path: "/v1/avatars/{avatar_id}/favorite",
  operationId: "unfavoriteAvatar",
  tags,
  summary: "Unmark a favourite",
  description: "Idempotent. Answers the avatar.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar, `is_favorite: false`.") },
  errors: ["avatar.not_found"],
});

export const createAvatar = defineRoute("api_key", {
  method: "post",
  path: "/v1/avatars",
  operationId: "createAvatar",
  tags,
  summary: "Create a custom avatar (a character, or a look of one)",
  description:
    "Answers the avatar in `processing` with a signed `upload` URL: `PUT` the file to it (at most `max_bytes`, with a `Content-Length`). " +
    "A durable job then checks and converts it and renders a preview: the avatar becomes `ready` (webhook `avatar.ready`) or `failed` with `failure` saying what to fix " +
    "(`avatar.failed`). A file that has not arrived when the URL expires fails as `avatar.upload_missing`. " +
    "`parent_id` must be one of your characters (another organisation's avatar is `404`, a platform or public one `403 avatar.read_only`). " +
    "An organisation keeps at most 5 (free), 25 (creator), 100 (pro) or 1,000 (enterprise) avatars: past that, `409 avatar.limit_reached`.",
  request: { body: { required: true, content: { "application/json": { schema: CreateAvatarBody } } } },
  responses: { 201: jsonResponse(CreatedAvatarSchema, "The avatar, processing, and where to upload its file.") },
  errors: ["avatar.not_found", "avatar.read_only", "avatar.limit_reached", "config.secret_missing"],
});

export const updateAvatar = defineRoute("api_key", {
  method: "patch",
  path: "/v1/avatars/{avatar_id}",
  operationId: "updateAvatar",
  tags,
  summary: "Rename, publish or deactivate one of your avatars",
  description: "Only the fields sent change. Avatars of the platform and other organisations' public ones are `403 avatar.read_only`.",
  request: { params: AvatarIdParams, body: { required: true, content: { "application/json": { schema: UpdateAvatarBody } } } },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar.") },
  errors: ["avatar.not_found", "avatar.read_only"],
});

export const deleteAvatar = defineRoute("api_key", {
  method: "delete",
  path: "/v1/avatars/{avatar_id}",
  operationId: "deleteAvatar",
  tags,
  summary: "Delete one of your avatars",
  description:
    "A character goes with its looks. Its files are removed and it is gone from every read; conversations that used it keep their record (and `avatar_id`). " +
    "Avatars of the platform and other organisations' public ones are `403 avatar.read_only`.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(DeletedAvatarSchema, "Deleted.") },
  errors: ["avatar.not_found", "avatar.read_only"],
});

export const uploadAvatarFile = defineRoute("public", {
  method: "put",
  path: "/v1/avatars/{avatar_id}/upload",
  operationId: "uploadAvatarFile",
  tags,
  summary: "Upload a custom avatar's file through its signed URL",
  description:
    "The `upload.url` from `POST /v1/avatars`; the signature is the authorisation. The body is the file, of any media type, with a `Content-Length` " +
    "(`411 request.length_required` without one) of at most `max_bytes` (`413 request.too_large`); it is streamed to storage, never buffered. " +
    "One upload per URL (`409 avatar.upload_used`); an upload that breaks off can be sent again to the same URL. Answers the avatar, still `processing`.",
  request: {
    params: AvatarIdParams,
    query: ModelFileQuery,
    body: { required: true, content: { "application/octet-stream": { schema: AvatarFileBody } } },
  },
  responses: { 200: jsonResponse(AvatarSchema, "Stored; processing has begun.") },
  errors: [
    "signature.invalid",
    "signature.expired",
    "avatar.not_found",
    "avatar.upload_used",
    "parameter.missing",
    "request.length_required",
    "config.secret_missing",
  ],
  maxBodyBytes: MAX_UPLOAD_BYTES,
  streamedBody: true,
});

export const getAvatarPreview = defineRoute("public", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/preview/{token}",
  operationId: "getAvatarPreview",
  tags,
  summary: "A custom avatar's preview image",
  description:
    "The `preview_img_url` of an uploaded avatar: PNG (or the JPEG that was uploaded for the mock runtime). Its URL cannot be guessed from the avatar's id; it never changes, so it is cached for a year.",
  request: { params: PreviewParams },
  responses: {
    200: {
      description: "The image.",
      headers: { "Cache-Control": header("`public, max-age=31536000, immutable`."), ETag: header("The stored object's entity tag.") },
      content: { "image/png": binary, "image/jpeg": binary },
    },
  },
  errors: ["avatar.not_found"],
});
