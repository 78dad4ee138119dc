import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./tts.handlers";
import * as routes from "./tts.routes";

export const registerTts = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.listVoices, handlers.listVoicesHandler)
    .openapi(routes.speak, handlers.speakHandler)
    .openapi(routes.preview, handlers.previewHandler)
    .openapi(routes.elevenlabsNative, handlers.elevenlabsNative)
    .openapi(routes.deepgramNative, handlers.deepgramNative)
    .openapi(routes.groqNative, handlers.groqNative);
