import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./ai.handlers";
import * as routes from "./ai.routes";

export const registerAi = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.listModels, handlers.listModels)
    .openapi(routes.listProviders, handlers.listProviders)
    .openapi(routes.listAiModels, handlers.listAiModels)
    .openapi(routes.getAiModel, handlers.getAiModel)
    .openapi(routes.chatCompletions, handlers.chatCompletions)
    .openapi(routes.chatAlias, handlers.chatAlias);
