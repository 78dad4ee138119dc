import { defineRoute, errorResponse, jsonResponse } from "../../lib/openapi";
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
  responses: { 200: jsonResponse(AvatarSchema, "The avatar."), 404: errorResponse(404, true) },
});

export const getAvatarModel = defineRoute("api_key", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model",
  tags,
  summary: "Where to download the avatar's runtime model",
  request: { params: AvatarIdParams },
  responses: {
    200: jsonResponse(AvatarModelSchema, "A signed, expiring download URL."),
    404: errorResponse(404, true),
    422: errorResponse(422, true),
  },
});

export const downloadAvatarModel = defineRoute("public", {
  method: "get",
  path: "/v1/avatars/{avatar_id}/model/file",
  tags,
  summary: "Download a model through a signed URL",
  description: "The URL from `GET /v1/avatars/{avatar_id}/model`; the signature is the authorisation. Supports `Range` and `If-None-Match`.",
  request: { params: AvatarIdParams, query: ModelFileQuery },
  responses: {
    200: {
      description: "The model bytes (`application/json`, `model/gltf-binary` or `application/octet-stream`).",
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
    },
    206: { description: "The requested byte range." },
    304: { description: "Not modified (If-None-Match)." },
    403: errorResponse(403),
    404: errorResponse(404),
  },
});

export const favoriteAvatar = defineRoute("api_key", {
  method: "put",
  path: "/v1/avatars/{avatar_id}/favorite",
  tags,
  summary: "Mark an avatar as a favourite of your organisation",
  description: "Idempotent. Answers the avatar.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar, `is_favorite: true`."), 404: errorResponse(404, true) },
});

export const unfavoriteAvatar = defineRoute("api_key", {
  method: "delete",
  path: "/v1/avatars/{avatar_id}/favorite",
  tags,
  summary: "Unmark a favourite",
  description: "Idempotent. Answers the avatar.",
  request: { params: AvatarIdParams },
  responses: { 200: jsonResponse(AvatarSchema, "The avatar, `is_favorite: false`."), 404: errorResponse(404, true) },
});
