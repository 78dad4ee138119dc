import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./conversations.handlers";
import * as routes from "./conversations.routes";

export const registerConversations = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.createConversation, handlers.createConversation)
    .openapi(routes.listConversations, handlers.listConversations)
    .openapi(routes.getConversation, handlers.getConversation)
    .openapi(routes.listMessages, handlers.listMessages)
    .openapi(routes.sendMessage, handlers.sendMessage)
    .openapi(routes.endConversation, handlers.endConversation)
    .openapi(routes.connect, handlers.connect);
