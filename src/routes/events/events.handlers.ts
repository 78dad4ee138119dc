import { notFound } from "../../lib/errors";
import { toPage } from "../../lib/pagination";
import { dispatchDeps } from "../../middleware/context";
import * as events from "../../services/events";
import type { HandlerOf } from "../define-route";
import type * as routes from "./events.routes";
import { eventBody } from "./events.schemas";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

export const listEvents: Handler<"listEvents"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await events.listEvents(c.get("db"), c.get("auth").org.id, { limit: q.limit, startingAfter: q.starting_after, type: q.type });
  return c.json(toPage(rows, q.limit, eventBody), 200);
};

export const getEvent: Handler<"getEvent"> = async (c) => {
  const { event_id } = c.req.valid("param");
  const row = await events.getEvent(c.get("db"), c.get("auth").org.id, event_id);
  if (!row) throw notFound("event", event_id);
  return c.json(eventBody(row), 200);
};

export const redeliverEvent: Handler<"redeliverEvent"> = async (c) => {
  const { event_id } = c.req.valid("param");
  const endpointIds = await events.redeliverEvent(dispatchDeps(c), c.get("auth").org.id, event_id);
  return c.json({ object: "event_redelivery" as const, event_id, endpoint_ids: endpointIds }, 202);
};
