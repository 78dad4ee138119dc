import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import * as handlers from "./avatars.handlers";
import * as routes from "./avatars.routes";

export const registerAvatars = (app: OpenAPIHono<AppEnv>) =>
  app
    .openapi(routes.listAvatars, handlers.listAvatars)
    .openapi(routes.getAvatar, handlers.getAvatar)
    .openapi(routes.getAvatarModel, handlers.getAvatarModel)
    .openapi(routes.downloadAvatarModel, handlers.downloadAvatarModel)
    .openapi(routes.favoriteAvatar, handlers.favoriteAvatar)
    .openapi(routes.unfavoriteAvatar, handlers.unfavoriteAvatar)
    .openapi(routes.createAvatar, handlers.createAvatar)
    .openapi(routes.updateAvatar, handlers.updateAvatar)
    .openapi(routes.deleteAvatar, handlers.deleteAvatar)
    .openapi(routes.uploadAvatarFile, handlers.uploadAvatarFile)
    .openapi(routes.getAvatarPreview, handlers.getAvatarPreview);
