import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./personas.handlers";
import * as routes from "./personas.routes";

export const registerPersonas = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.listPersonas, handlers.listPersonas)
    // Registered before /{vertical} only for readability: the two never match the same path.
    .openapi(routes.getPersona, handlers.getPersona)
    .openapi(routes.listVertical, handlers.listVertical)
    .openapi(routes.createPersona, handlers.createPersona)
    .openapi(routes.updatePersona, handlers.updatePersona)
    .openapi(routes.deletePersona, handlers.deletePersona);
