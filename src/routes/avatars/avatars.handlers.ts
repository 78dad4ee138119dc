import { randomToken } from "../../lib/crypto";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { toPage } from "../../lib/pagination";
import { NO_STORE } from "../../lib/responses";
import { isoSeconds } from "../../lib/time";
import { refuseUnsized } from "../../middleware/body";
import { readDb } from "../../middleware/context";
import * as uploads from "../../services/avatar-uploads";
import * as avatars from "../../services/avatars";
import { readModelFile } from "../../services/model-files";
import { signModelUrl, verifyModelUrl } from "../../services/model-urls";
import type { HandlerOf } from "../define-route";
import type * as routes from "./avatars.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

/** An uploaded avatar's preview is served by this API (getAvatarPreview); a platform avatar's URL is stored as is. */
const previewUrl = (a: avatars.AvatarView, base: string) => {
  if (a.previewAssetKey === null) return a.previewImgUrl;
  const token = a.previewAssetKey.slice(a.previewAssetKey.lastIndexOf("preview-") + "preview-".length);
  return new URL(`/v1/avatars/${encodeURIComponent(a.id)}/preview/${token}`, base).toString();
};

const toJson = (a: avatars.AvatarView, base: string) => ({
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
  preview_img_url: previewUrl(a, base),
  video_url: a.videoUrl,
  is_favorite: a.isFavorite,
  is_public: a.isPublic,
  active: a.active,
  source_format: a.sourceFormat,
  failure: a.failureCode === null ? null : { code: a.failureCode, message: a.failureMessage ?? "" },
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
  const base = baseUrlOf(c);
  return c.json(
    toPage(rows, q.limit, (a) => toJson(a, base)),
    200,
  );
};

export const getAvatar: Handler<"getAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.getAvatar(readDb(c), c.get("auth").org.id, avatar_id), avatar_id), baseUrlOf(c)), 200);
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
      metadata: uploads.parseModelInfo(avatar.modelInfo),
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
  return c.json(toJson(found(await avatars.setFavorite(c.get("db"), c.get("auth").org.id, avatar_id, true), avatar_id), baseUrlOf(c)), 200);
};

export const unfavoriteAvatar: Handler<"unfavoriteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  return c.json(toJson(found(await avatars.setFavorite(c.get("db"), c.get("auth").org.id, avatar_id, false), avatar_id), baseUrlOf(c)), 200);
};

const baseUrlOf = (c: { get: (k: "config") => { publicBaseUrl: string | undefined }; req: { url: string } }) =>
  c.get("config").publicBaseUrl ?? new URL(c.req.url).origin;

export const createAvatar: Handler<"createAvatar"> = async (c) => {
  const body = c.req.valid("json");
  const config = c.get("config");
  // Before anything is written: without the signing secret there is no upload URL to give.
  const secret = config.secret("ASSET_SIGNING_SECRET");
  const db = c.get("db");
  const org = c.get("auth").org;
  const now = Date.now();
  const ttlMs = config.avatarUploadTtlSeconds * 1000;
  const avatar = await avatars.createAvatar(
    db,
    org,
    {
      name: body.name,
      parentId: body.parent_id ?? null,
      isPublic: body.is_public ?? false,
      runtimeType: body.runtime_type,
      sourceFormat: body.source_format,
      uploadExpiresAt: now + ttlMs,
    },
    now,
  );
  await uploads.startProcessing(c.env.AVATAR_PROCESSING, db, {
    avatarId: avatar.id,
    orgId: org.id,
    sourceFormat: body.source_format,
    runtimeType: body.runtime_type,
    name: avatar.name,
    previewToken: randomToken(),
    uploadTtlMs: ttlMs,
    eventId: newId("evt"),
  });
  const base = baseUrlOf(c);
  const upload = await uploads.signUploadUrl({ secret, baseUrl: base, avatarId: avatar.id, expiresAtMs: now + ttlMs });
  // The upload URL takes a file without a key until it expires: a secret like any other.
  return c.json({ ...toJson(avatar, base), upload }, 201, NO_STORE);
};

export const updateAvatar: Handler<"updateAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const patch = c.req.valid("json");
  const avatar = await avatars.updateAvatar(c.get("db"), c.get("auth").org.id, avatar_id, {
    name: patch.name,
    isPublic: patch.is_public,
    active: patch.active,
  });
  return c.json(toJson(avatar, baseUrlOf(c)), 200);
};

export const deleteAvatar: Handler<"deleteAvatar"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const ids = await avatars.deleteAvatar(c.get("db"), c.get("auth").org.id, avatar_id);
  // A job still running finds its avatar deleted and removes what it wrote after this.
  await Promise.all(ids.map((id) => uploads.removeFiles(c.env.MODELS, id)));
  return c.json({ id: avatar_id, object: "avatar" as const, deleted: true as const }, 200);
};

export const uploadAvatarFile: Handler<"uploadAvatarFile"> = async (c) => {
  const { avatar_id } = c.req.valid("param");
  const { expires, signature } = c.req.valid("query");
  const now = Date.now();
  await uploads.verifyUploadUrl({ secret: c.get("config").secret("ASSET_SIGNING_SECRET"), avatarId: avatar_id, expires, signature, now });
  await refuseUnsized(c.req.raw);
  const bytes = Number(c.req.header("Content-Length") ?? "0");
  const body = c.req.raw.body;
  if (body === null || bytes === 0) throw new ApiError("parameter.missing", "The upload is empty: send the file as the request body.", { param: "body" });
  const db = c.get("db");
  const { orgId } = await uploads.claimUpload(db, avatar_id, now);
  try {
    await c.env.MODELS.put(uploads.uploadKey(avatar_id), body, {
      httpMetadata: { contentType: c.req.header("Content-Type") ?? "application/octet-stream" },
    });
  } catch (err) {
    // The body broke off (or storage failed): the URL may be used again until it expires.
    await uploads.releaseUpload(db, avatar_id);
    throw err;
  }
  await uploads.announceUpload(c.env.AVATAR_PROCESSING, avatar_id, { bytes });
  return c.json(toJson(found(await avatars.getAvatar(db, orgId, avatar_id), avatar_id), baseUrlOf(c)), 200);
};

const TOKEN = /^[\w-]{16,64}$/;

export const getAvatarPreview: Handler<"getAvatarPreview"> = async (c) => {
  const { avatar_id, token } = c.req.valid("param");
  const image = TOKEN.test(token) ? await c.env.MODELS.get(uploads.previewKey(avatar_id, token)) : null;
  if (!image) throw notFound("avatar", avatar_id);
  const headers = new Headers();
  image.writeHttpMetadata(headers);
  headers.set("ETag", image.httpEtag);
  headers.set("Content-Length", String(image.size));
  // The URL names one file that never changes (a new upload is a new avatar, a new token).
  headers.set("Cache-Control", "public, max-age=31536000, immutable");
  return new Response(image.body, { status: 200, headers });
};
