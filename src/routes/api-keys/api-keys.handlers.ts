import type { ApiKeyRow } from "../../db/schema";
import { notFound } from "../../lib/errors";
import type { HandlerOf } from "../define-route";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { isoOrNull, isoSeconds } from "../../lib/time";
import * as keys from "../../services/api-keys";
import type * as routes from "./api-keys.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const toJson = (k: ApiKeyRow) => ({
  id: k.id,
  object: "api_key" as const,
  name: k.name,
  mode: k.mode,
  prefix: k.prefix,
  last4: k.last4,
  created_at: isoSeconds(k.createdAt),
  last_used_at: isoOrNull(k.lastUsedAt),
  revoked_at: isoOrNull(k.revokedAt),
});

export const listApiKeys: Handler<"listApiKeys"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await keys.listKeys(c.get("db"), c.get("auth").org.id, { limit: q.limit, startingAfter: q.starting_after });
  return c.json(toPage(rows, q.limit, toJson), 200);
};

export const createApiKey: Handler<"createApiKey"> = async (c) => {
  const { row, secret } = await keys.createKey(c.get("db"), c.get("auth").org.id, c.req.valid("json"));
  return c.json({ ...toJson(row), secret }, 201, NO_STORE);
};

export const revokeApiKey: Handler<"revokeApiKey"> = async (c) => {
  const { key_id } = c.req.valid("param");
  const row = await keys.revokeKey({ db: c.get("db"), limiter: c.get("limiter") }, c.get("auth").org.id, key_id);
  if (!row) throw notFound("api_key", key_id);
  return c.json(toJson(row), 200);
};
