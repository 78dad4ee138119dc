import { ApiError, notFound } from "../../lib/errors";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { isoSeconds } from "../../lib/time";
import { readDb } from "../../middleware/context";
import * as avatars from "../../services/avatars";
import { readModelFile } from "../../services/model-files";
import { signModelUrl, verifyModelUrl } from "../../services/model-urls";
import type { HandlerOf } from "../define-route";
import type * as routes from "./avatars.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const toJson = (a: avatars.AvatarView) => ({
  id: a.id,
  object: "avatar" as const,
  name: a.name,
  is_demo: a.isDemo,
  runtime_type: a.runtimeType,
  status: a.status,
  created_at: isoSeconds(a.createdAt),
  updated_at: isoSeconds(a.updatedAt),
  parent_id: a.parentId,
  looks_count: a.looksCount,
  preview_img_url: a.previewImgUrl,
  video_url: a.videoUrl,
  is_favorite: a.isFavorite,
  is_public: a.isPublic,
  active: a.active,
});

const found = (avatar: avatars.AvatarView | undefined, id: string) => {
  if (!avatar) throw notFound("avatar", id);
  return avatar;
};

export const listAvatars: Handler<"listAvatars"> = async (c) => {
  const q = c.req.valid("query");
  const rows = await avatars.listAvatars(readDb(c), c.get("auth").org.id, {
    limit: q.limit,
    startingAfter: q.starting_after,
    parentId: q.parent_id,
    isFavorite: q.is_favorite,
    status: q.status,
    runtimeType: q.runtime_type,
  });
  return c.json(toPage(rows, q.limit, toJson), 200);
};

export const getAvatar: Handler<"getAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.getAvatar(readDb(c), c.get("auth").org.id, avatar_id), avatar_id)), 200);
};

export const getAvatarModel: Handler<"getAvatarModel"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const avatar = found(await avatars.getAvatar(readDb(c), c.get("auth").org.id, avatar_id), avatar_id);
  if (avatar.looksCount > 0) {
    throw new ApiError("avatar.not_a_look", `${avatar_id} is a character with looks; request the model of one of its looks.`);
  }
  if (avatar.status !== "ready" || !avatar.modelAssetKey || !avatar.modelFormat) {
    throw new ApiError("avatar.not_ready", `${avatar_id} has no model yet (status: ${avatar.status}).`);
  }
  const config = c.get("config");
  const { url, expiresAtMs } = await signModelUrl({
    secret: config.secret("ASSET_SIGNING_SECRET"),
    baseUrl: config.publicBaseUrl ?? new URL(c.req.url).origin,
    avatarId: avatar_id,
    ttlSeconds: config.modelUrlTtlSeconds,
    now: Date.now(),
  });
  return c.json(
    {
      object: "avatar_model" as const,
      avatar_id,
      runtime_type: avatar.runtimeType,
      format: avatar.modelFormat,
      url,
      expires_at: isoSeconds(expiresAtMs),
    },
    200,
    // The URL downloads the file with no key until it expires: it is a secret like any other.
    NO_STORE,
  );
};

export const downloadAvatarModel: Handler<"downloadAvatarModel"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const { expires, signature } = c.req.valid("query");
  const now = Date.now();
  const secret = c.get("config").secret("ASSET_SIGNING_SECRET");
  const expiresAt = await verifyModelUrl({ secret, avatarId: avatar_id, expires, signature, now });
  const asset = await avatars.getModelAsset(c.get("db"), avatar_id);
  const file = asset?.key ? await readModelFile(c.env.MODELS, asset.key, asset.format, c.req.raw.headers) : undefined;
  if (!file) throw notFound("avatar", avatar_id);
  if (file.status === 416) {
    throw new ApiError("range.not_satisfiable", "The requested range is outside the file.", {
      headers: { "Content-Range": file.headers.get("Content-Range") ?? "" },
    });
  }
  // Cacheable by the browser only as long as the URL itself is valid.
  file.headers.set("Cache-Control", `private, max-age=${Math.max(0, Math.floor((expiresAt * 1000 - now) / 1000))}`);
  return new Response(file.body, { status: file.status, headers: file.headers });
};

export const favoriteAvatar: Handler<"favoriteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.setFavorite(c.get("db"), c.get("auth").org.id, avatar_id, true), avatar_id)), 200);
};

export const unfavoriteAvatar: Handler<"unfavoriteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.setFavorite(c.get("db"), c.get("auth").org.id, avatar_id, false), avatar_id)), 200);
};
