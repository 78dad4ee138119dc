import { jsonResponse } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { EventIdParams, EventListSchema, EventSchema, ListEventsQuery, RedeliverySchema } from "./events.schemas";

const tags = ["Webhooks"];

export const listEvents = defineRoute("api_key", {
  method: "get",
  path: "/v1/events",
  operationId: "listEvents",
  tags,
  summary: "List your organisation's events",
  description: "Newest first; `type` filters. Each event is exactly the body its webhook deliveries carry.",
  request: { query: ListEventsQuery },
  responses: { 200: jsonResponse(EventListSchema, "A page of events.") },
});

export const getEvent = defineRoute("api_key", {
  method: "get",
  path: "/v1/events/{event_id}",
  operationId: "getEvent",
  tags,
  summary: "Retrieve an event",
  request: { params: EventIdParams },
  responses: { 200: jsonResponse(EventSchema, "The event.") },
  errors: ["event.not_found"],
});

export const redeliverEvent = defineRoute("api_key", {
  method: "post",
  path: "/v1/events/{event_id}/redeliver",
  operationId: "redeliverEvent",
  tags,
  summary: "Deliver an event again",
  description:
    "Queues a new delivery of the event to every enabled endpoint subscribed to its type now, with the same `webhook-id` and a fresh retry schedule. `202`: the attempts are listed under each endpoint's deliveries.",
  request: { params: EventIdParams },
  responses: { 202: jsonResponse(RedeliverySchema, "The endpoints it was queued for.") },
  errors: ["event.not_found"],
});
