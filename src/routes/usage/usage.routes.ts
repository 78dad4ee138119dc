import { jsonResponse } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { UsageListSchema, UsageQuery } from "./usage.schemas";

export const listUsage = defineRoute("api_key", {
  method: "get",
  path: "/v1/usage",
  operationId: "listUsage",
  tags: ["Usage"],
  summary: "Your organisation's metered usage",
  description:
    "Per UTC day (newest first) or per API key, over `from`..`to` (default the last 30 days, at most 366). Buckets without usage are left out. Usage is written as it happens (a conversation's turns as each ends, its seconds when it ends; requests within a second or two), each event once.",
  request: { query: UsageQuery },
  responses: { 200: jsonResponse(UsageListSchema, "A page of usage buckets.") },
});
