import * as usage from "../../services/usage";
import type { HandlerOf } from "../define-route";
import type * as routes from "./usage.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

export const listUsage: Handler<"listUsage"> = async (c) => {
  const q = c.req.valid("query");
  const page = await usage.listUsage(c.get("db"), c.get("auth").org.id, {
    from: q.from,
    to: q.to,
    groupBy: q.group_by,
    metrics: q.metric,
    limit: q.limit,
    startingAfter: q.starting_after,
  });
  return c.json(page, 200);
};
