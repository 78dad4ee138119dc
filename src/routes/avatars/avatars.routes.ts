import { z } from "@hono/zod-openapi";
import { cacheControl, header, jsonResponse } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { AvatarIdParams, AvatarListSchema, AvatarModelSchema, AvatarSchema, ListAvatarsQuery, ModelFileQuery } from "./avatars.schemas";

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
