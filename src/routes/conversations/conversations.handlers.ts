import type { Context } from "hono";
import type { ConversationRecord } from "../../db/conversations";
import { toolJson } from "../../db/tools";
import { conversationJson } from "../../durable-objects/conversation.protocol";
import type { AppEnv } from "../../env";
import { ApiError } from "../../lib/errors";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { SSE_HEADERS } from "../../lib/sse";
import { isoSeconds } from "../../lib/time";
import * as conversations from "../../services/conversations";
import type { HandlerOf } from "../define-route";
import type * as routes from "./conversations.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const deps = (c: Context<AppEnv>): conversations.Deps => ({
  db: c.get("db"),
  config: c.get("config"),
  log: c.get("log"),
  namespace: c.env.CONVERSATION,
  limiter: c.env.RATE_LIMITER,
});

export const createConversation: Handler<"createConversation"> = async (c) => {
  const baseUrl = c.get("config").publicBaseUrl ?? new URL(c.req.url).origin;
  const auth = c.get("auth");
  const { record, clientSecret, revealed } = await conversations.createConversation(
    deps(c),
    {
      orgId: auth.org.id,
      keyId: auth.key?.keyId,
      concurrency: auth.org.concurrency,
      quotas: { org: auth.org.quotas, key: auth.key?.quotas ?? null },
    },
    c.req.valid("json"),
    baseUrl,
  );
  const tools = record.tools.map((t) => toolJson(t, revealed.includes(t.name)));
  const body = { ...conversationJson(record), tools, client_secret: { value: clientSecret.value, expires_at: isoSeconds(clientSecret.expiresAtMs) } };
  return c.json(body, 201, NO_STORE);
};

export const listConversations: Handler<"listConversations"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await conversations.listConversations(c.get("db"), c.get("auth").org.id, { limit: q.limit, startingAfter: q.starting_after, status: q.status });
  return c.json(toPage<ConversationRecord, ReturnType<typeof conversationJson>>(rows, q.limit, conversationJson), 200);
};

export const getConversation: Handler<"getConversation"> = async (c) => {
  const { conversation_id } = c.req.valid("param");
  const { record, messages } = await conversations.getConversation(deps(c), c.get("auth").org.id, conversation_id);
  return c.json({ ...conversationJson(record), messages }, 200);
};

export const listMessages: Handler<"listMessages"> = async (c) => {
  const { conversation_id } = c.req.valid("param");
  const q = c.req.valid("query");
  return c.json(await conversations.listMessages(deps(c), c.get("auth").org.id, conversation_id, { limit: q.limit, startingAfter: q.starting_after }), 200);
};

export const sendMessage: Handler<"sendMessage"> = async (c) => {
  const { conversation_id } = c.req.valid("param");
  const { content, stream } = c.req.valid("json");
  const orgId = c.get("auth").org.id;
  if (stream) {
    const events = await conversations.streamMessage(deps(c), orgId, conversation_id, content);
    return c.body(events, 200, SSE_HEADERS);
  }
  return c.json(await conversations.sendMessage(deps(c), orgId, conversation_id, content), 201);
};

export const endConversation: Handler<"endConversation"> = async (c) => {
  const { conversation_id } = c.req.valid("param");
  return c.json(conversationJson(await conversations.endConversation(deps(c), c.get("auth").org.id, conversation_id)), 200);
};

export const connect: Handler<"connect"> = async (c) => {
  const { conversation_id } = c.req.valid("param");
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("websocket.upgrade_required", "This endpoint speaks WebSocket only: connect with a WebSocket client (Upgrade: websocket).");
  }
  return conversations.connect(deps(c), c.get("auth"), conversation_id, c.req.raw);
};
