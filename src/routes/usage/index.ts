import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./usage.handlers";
import * as routes from "./usage.routes";

export const registerUsage = (app: OpenAPIHono<AppEnv>) => app.openapi(routes.listUsage, handlers.listUsage);
