import { AvatarFileError } from "../avatar-files/errors";
import { validateGlb } from "../avatar-files/glb";
import { imageInfo } from "../avatar-files/image";
import { convertPly } from "../avatar-files/ply";
import { renderPreview } from "../avatar-files/preview";
import { MAX_SPLATS, normaliseSplat, SPLAT_BYTES, type SplatSet } from "../avatar-files/splat";
import { modelKey, type Outcome, type ProcessingParams, previewKey, uploadKey } from "../services/avatar-uploads";

/**
 * The convert step of an avatar's processing: the upload read from the MODELS bucket, checked and
 * converted by src/avatar-files/, the model and its preview written beside it. Every key written is
 * fixed by the avatar (and its preview token), so running the step again overwrites rather than
 * duplicates. A file that cannot be used is an outcome (`failed` with what to fix), not an error:
 * retrying cannot change it.
 */

/** Formats read whole rather than streamed: a GLB is checked as one buffer, an image kept as the preview. */
const MAX_GLB_BYTES = 64 * 1024 * 1024;
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
const MIB = 1024 * 1024;

const tooLarge = (what: string, size: number, max: number) =>
  new AvatarFileError("avatar.too_large", `The ${what} is ${(size / MIB).toFixed(1)} MiB; at most ${max / MIB} MiB are accepted.`);

async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

export async function convertUpload(bucket: R2Bucket, params: ProcessingParams): Promise<Outcome> {
  const upload = await bucket.get(uploadKey(params.avatarId));
  if (!upload)
    return { status: "failed", code: "avatar.upload_missing", message: "The uploaded file is not in storage; create the avatar again and upload it." };
  try {
    if (params.sourceFormat === "ply") return await splats(bucket, params, await convertPly(chunksOf(upload.body), upload.size));
    if (params.sourceFormat === "splat") {
      if (upload.size > MAX_SPLATS * SPLAT_BYTES) throw tooLarge(".splat file", upload.size, MAX_SPLATS * SPLAT_BYTES);
      return await splats(bucket, params, normaliseSplat(new Uint8Array(await upload.arrayBuffer())));
    }
    if (params.sourceFormat === "glb") return await glb(bucket, params, upload);
    return await image(bucket, params, upload);
  } catch (err) {
    if (err instanceof AvatarFileError) return { status: "failed", code: err.code, message: err.message };
    throw err;
  } finally {
    // A conversion that stopped early leaves the rest of the body unread: release it.
    if (!upload.bodyUsed) await upload.body.cancel().catch(() => {});
  }
}

async function splats(bucket: R2Bucket, params: ProcessingParams, set: SplatSet): Promise<Outcome> {
  const model = modelKey(params.avatarId, "splat");
  const preview = previewKey(params.avatarId, params.previewToken);
  await bucket.put(model, set.bytes, { httpMetadata: { contentType: "application/octet-stream" } });
  await bucket.put(preview, await renderPreview(set), { httpMetadata: { contentType: "image/png" } });
  return {
    status: "ready",
    modelKey: model,
    modelFormat: "splat",
    previewKey: preview,
    info: { bytes: set.bytes.length, splat_count: set.count, bounds: set.bounds, image: null },
  };
}

async function glb(bucket: R2Bucket, params: ProcessingParams, upload: R2ObjectBody): Promise<Outcome> {
  if (upload.size > MAX_GLB_BYTES) throw tooLarge("GLB", upload.size, MAX_GLB_BYTES);
  const bytes = new Uint8Array(await upload.arrayBuffer());
  validateGlb(bytes);
  const model = modelKey(params.avatarId, "glb");
  await bucket.put(model, bytes, { httpMetadata: { contentType: "model/gltf-binary" } });
  // No preview: drawing a mesh is a renderer's work, not this API's.
  return {
    status: "ready",
    modelKey: model,
    modelFormat: "glb",
    previewKey: null,
    info: { bytes: bytes.length, splat_count: null, bounds: null, image: null },
  };
}

/** A picture for the mock runtime: it is the preview, and the model is the mock runtime's description pointing at it. */
async function image(bucket: R2Bucket, params: ProcessingParams, upload: R2ObjectBody): Promise<Outcome> {
  if (upload.size > MAX_IMAGE_BYTES) throw tooLarge("image", upload.size, MAX_IMAGE_BYTES);
  const bytes = new Uint8Array(await upload.arrayBuffer());
  const info = imageInfo(bytes);
  const preview = previewKey(params.avatarId, params.previewToken);
  await bucket.put(preview, bytes, { httpMetadata: { contentType: info.contentType } });
  const model = modelKey(params.avatarId, "json");
  const description = {
    format: "avatar-mock/1",
    avatar_id: params.avatarId,
    name: params.name,
    audio: { encoding: "pcm_s16le", sample_rate: 24000 },
    image: { content_type: info.contentType, width: info.width, height: info.height },
  };
  const json = new TextEncoder().encode(`${JSON.stringify(description, null, 2)}\n`);
  await bucket.put(model, json, { httpMetadata: { contentType: "application/json" } });
  return {
    status: "ready",
    modelKey: model,
    modelFormat: "json",
    previewKey: preview,
    info: { bytes: json.length, splat_count: null, bounds: null, image: { width: info.width, height: info.height } },
  };
}
