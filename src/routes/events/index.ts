import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./events.handlers";
import * as routes from "./events.routes";

export const registerEvents = (app: OpenAPIHono<AppEnv>) =>
  app.openapi(routes.listEvents, handlers.listEvents).openapi(routes.getEvent, handlers.getEvent).openapi(routes.redeliverEvent, handlers.redeliverEvent);
