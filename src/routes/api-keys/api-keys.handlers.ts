import { notFound } from "../../lib/errors";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { dispatchDeps, inBackground } from "../../middleware/context";
import * as keys from "../../services/api-keys";
import type { HandlerOf } from "../define-route";
import type * as routes from "./api-keys.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

export const listApiKeys: Handler<"listApiKeys"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await keys.listKeys(c.get("db"), c.get("auth").org.id, { limit: q.limit, startingAfter: q.starting_after });
  return c.json(toPage(rows, q.limit, keys.apiKeyJson), 200);
};

export const createApiKey: Handler<"createApiKey"> = async (c) => {
  const { row, secret } = await keys.createKey(dispatchDeps(c), c.get("auth").org.id, c.req.valid("json"));
  return c.json({ ...keys.apiKeyJson(row), secret }, 201, NO_STORE);
};

export const revokeApiKey: Handler<"revokeApiKey"> = async (c) => {
  const { key_id } = c.req.valid("param");
  const deps = {
    ...dispatchDeps(c),
    limiter: c.get("limiter"),
    d1: c.get("d1"),
    conversations: c.env.CONVERSATION,
    inBackground: (work: Promise<unknown>) => inBackground(c, work),
  };
  const row = await keys.revokeKey(deps, c.get("auth").org.id, key_id);
  if (!row) throw notFound("api_key", key_id);
  return c.json(keys.apiKeyJson(row), 200);
};
