import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./stt.handlers";
import * as routes from "./stt.routes";

export const registerStt = (app: OpenAPIHono<AppEnv>) => app.openapi(routes.transcribe, handlers.transcribeHandler);
