import { ApiError, notFound } from "../../lib/errors";
import type { HandlerOf } from "../../lib/openapi";
import { toPage } from "../../lib/pagination";
import { isoSeconds } from "../../lib/time";
import * as avatars from "../../services/avatars";
import { signingSecret, signModelUrl, verifyModelUrl } from "../../services/model-urls";
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
  const rows = await avatars.listAvatars(c.var.db, c.var.auth.org.id, {
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
  return c.json(toJson(found(await avatars.getAvatar(c.var.db, c.var.auth.org.id, avatar_id), avatar_id)), 200);
};

export const getAvatarModel: Handler<"getAvatarModel"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const avatar = found(await avatars.getAvatar(c.var.db, c.var.auth.org.id, avatar_id), avatar_id);
  if (avatar.looksCount > 0) {
    throw new ApiError("unprocessable", "avatar.not_a_look", `${avatar_id} is a character with looks; request the model of one of its looks.`);
  }
  if (avatar.status !== "ready" || !avatar.modelAssetKey || !avatar.modelFormat) {
    throw new ApiError("unprocessable", "avatar.not_ready", `${avatar_id} has no model yet (status: ${avatar.status}).`);
  }
  const { url, expiresAtMs } = await signModelUrl({
    secret: signingSecret(c.env.ASSET_SIGNING_SECRET),
    baseUrl: c.env.PUBLIC_BASE_URL || new URL(c.req.url).origin,
    avatarId: avatar_id,
    ttlSeconds: Number(c.env.MODEL_URL_TTL_SECONDS) || 900,
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
  );
};

const CONTENT_TYPES: Record<string, string> = {
  json: "application/json",
  glb: "model/gltf-binary",
  splat: "application/octet-stream",
  ply: "application/octet-stream",
};

/**
 * R2 read honouring `Range` and `If-None-Match` only (an unmet If-Match must not become a 304). A
 * range R2 cannot satisfy is ignored and the whole object served, as HTTP allows.
 */
async function getObject(bucket: R2Bucket, key: string, request: Headers) {
  const onlyIf = new Headers();
  const etag = request.get("If-None-Match");
  if (etag) onlyIf.set("If-None-Match", etag);
  try {
    return await bucket.get(key, { range: request, onlyIf });
  } catch {
    return bucket.get(key, { onlyIf });
  }
}

export const downloadAvatarModel: Handler<"downloadAvatarModel"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const { expires, signature } = c.req.valid("query");
  const now = Date.now();
  const expiresAt = await verifyModelUrl({ secret: signingSecret(c.env.ASSET_SIGNING_SECRET), avatarId: avatar_id, expires, signature, now });
  const asset = await avatars.getModelAsset(c.var.db, avatar_id);
  if (!asset?.key) throw notFound("avatar", avatar_id);

  const object = await getObject(c.env.MODELS, asset.key, c.req.raw.headers);
  if (!object) throw notFound("avatar", avatar_id);

  const out = new Headers();
  object.writeHttpMetadata(out);
  if (!out.has("Content-Type")) out.set("Content-Type", CONTENT_TYPES[asset.format ?? ""] ?? "application/octet-stream");
  out.set("ETag", object.httpEtag);
  out.set("Accept-Ranges", "bytes");
  // Cacheable by the browser only as long as the URL itself is valid.
  out.set("Cache-Control", `private, max-age=${Math.max(0, Math.floor((expiresAt * 1000 - now) / 1000))}`);
  if (!("body" in object)) return new Response(null, { status: 304, headers: out });

  const range = object.range as { offset?: number; length?: number; suffix?: number } | undefined;
  if (range && c.req.header("Range")) {
    const offset = range.suffix !== undefined ? object.size - range.suffix : (range.offset ?? 0);
    const length = range.suffix ?? range.length ?? object.size - offset;
    out.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    out.set("Content-Length", String(length));
    return new Response(object.body, { status: 206, headers: out });
  }
  out.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers: out });
};

export const favoriteAvatar: Handler<"favoriteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.setFavorite(c.var.db, c.var.auth.org.id, avatar_id, true), avatar_id)), 200);
};

export const unfavoriteAvatar: Handler<"unfavoriteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.setFavorite(c.var.db, c.var.auth.org.id, avatar_id, false), avatar_id)), 200);
};
