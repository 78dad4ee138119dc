import { jsonResponse, NO_STORE_HEADERS } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { ApiKeyIdParams, ApiKeyListSchema, ApiKeySchema, CreateApiKeyBody, CreatedApiKeySchema, ListApiKeysQuery } from "./api-keys.schemas";

const tags = ["API keys"];

export const listApiKeys = defineRoute("jwt", {
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  tags,
  summary: "List your organisation's API keys",
  description: "Newest first, revoked keys included. Never shows a secret.",
  request: { query: ListApiKeysQuery },
  responses: { 200: jsonResponse(ApiKeyListSchema, "A page of keys.") },
});

export const createApiKey = defineRoute("jwt", {
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  tags,
  summary: "Create an API key",
  description: "The response carries `secret`, the key itself, once (and `Cache-Control: no-store`); only its SHA-256 is stored.",
  request: { body: { required: true, content: { "application/json": { schema: CreateApiKeyBody } } } },
  responses: { 201: jsonResponse(CreatedApiKeySchema, "The new key, with its secret.", NO_STORE_HEADERS) },
});

export const revokeApiKey = defineRoute("jwt", {
  method: "delete",
  path: "/v1/api-keys/{key_id}",
  operationId: "revokeApiKey",
  tags,
  summary: "Revoke an API key",
  description:
    "The key is refused at once by the location that revoked it and everywhere within one rate-limit lease lifetime (`LIMITER_LEASE_MS`, 10 s by default), and so are the client secrets of conversations it created. Within the same bound, conversation sockets opened with it or with those secrets get an `error` event `api_key.revoked` and are closed (1008). Idempotent: answers the revoked record.",
  request: { params: ApiKeyIdParams },
  responses: { 200: jsonResponse(ApiKeySchema, "The revoked key.") },
  errors: ["api_key.not_found"],
});
