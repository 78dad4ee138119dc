import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./api-keys.handlers";
import * as routes from "./api-keys.routes";

export const registerApiKeys = (app: OpenAPIHono<AppEnv>) =>
  app.openapi(routes.listApiKeys, handlers.listApiKeys).openapi(routes.createApiKey, handlers.createApiKey).openapi(routes.revokeApiKey, handlers.revokeApiKey);
