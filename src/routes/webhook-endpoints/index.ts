import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./webhook-endpoints.handlers";
import * as routes from "./webhook-endpoints.routes";

export const registerWebhookEndpoints = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.createWebhookEndpoint, handlers.createWebhookEndpoint)
    .openapi(routes.listWebhookEndpoints, handlers.listWebhookEndpoints)
    .openapi(routes.getWebhookEndpoint, handlers.getWebhookEndpoint)
    .openapi(routes.updateWebhookEndpoint, handlers.updateWebhookEndpoint)
    .openapi(routes.deleteWebhookEndpoint, handlers.deleteWebhookEndpoint)
    .openapi(routes.rotateWebhookSecret, handlers.rotateWebhookSecret)
    .openapi(routes.testWebhookEndpoint, handlers.testWebhookEndpoint)
    .openapi(routes.listWebhookDeliveries, handlers.listWebhookDeliveries);
