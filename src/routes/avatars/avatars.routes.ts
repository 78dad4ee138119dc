import { jsonResponse } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { AvatarIdParams, AvatarListSchema, AvatarModelSchema, AvatarSchema, ListAvatarsQuery, ModelFileQuery } from "./avatars.schemas";

const tags = ["Avatars"];

export const listAvatars = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars",
  tags,
  summary: "List avatars",
  description: "Platform avatars, public avatars and your own, newest first.",
  request: { query: ListAvatarsQuery },
  responses: { 200: jsonResponse(AvatarListSchema, "A page of avatars.") },
});

export const getAvatar = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars/{avatar_id}",
  tags,
  summary: "Retrieve an avatar",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar.") },
  errors: ["avatar.not_found"],
});

export const getAvatarModel = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model",
  tags,
  summary: "Where to download the avatar's runtime model",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarModelSchema, "A signed, expiring download URL (`Cache-Control: no-store`: it downloads without a key until it expires).") },
  errors: ["avatar.not_found", "avatar.not_a_look", "avatar.not_ready", "config.secret_missing"],
});

export const downloadAvatarModel = defineRoute("public", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model/file",
  tags,
  summary: "Download a model through a signed URL",
  description:
    "The URL from `GET /v1/avatars/{avatar_id}/model`; the signature is the authorisation. Readable from any origin. " +
    "Honours `If-None-Match` and a single byte `Range` (RFC 9110): a malformed or multi-range header is ignored (200, whole file), " +
    "an unsatisfiable one is `416 range.not_satisfiable` with `Content-Range: bytes */<size>`.",
  request: { params: AvatarIdParams, query: ModelFileQuery },
  responses: {
    200: {
      description: "The model bytes (`application/json`, `model/gltf-binary` or `application/octet-stream`).",
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
    },
    206: { description: "The requested byte range, with `Content-Range`." },
    304: { description: "Not modified (If-None-Match)." },
  },
  errors: ["signature.invalid", "signature.expired", "avatar.not_found", "range.not_satisfiable", "config.secret_missing"],
});

export const favoriteAvatar = defineRoute("api_key", {
  method: "put",
  path: "/v1/avatars/{avatar_id}/favorite",
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
  tags,
  summary: "Unmark a favourite",
  description: "Idempotent. Answers the avatar.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar, `is_favorite: false`.") },
  errors: ["avatar.not_found"],
});
