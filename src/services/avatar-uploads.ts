import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { avatars, events, type ModelFormat, type RuntimeType, type SourceFormat } from "../db/schema";
import { hmacSign, hmacVerify } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { isoSeconds } from "../lib/time";
import { buildEvent, type StoredEvent } from "../webhooks/events";

/**
 * A custom avatar's way from upload to `ready` or `failed`, on the side of storage and records: the
 * signed upload URL, where its files live in the MODELS bucket, the one-time claim of the URL, and
 * the outcome written once with its webhook event. The job itself is src/workflows/.
 */

/** The most one upload may carry; the route's body limit (Cloudflare's own plans cap bodies at 100 to 500 MB). */
export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

/** Everything of one avatar lives under one prefix, so deleting it is one listing. */
export const avatarPrefix = (avatarId: string) => `avatars/${avatarId}/`;
export const uploadKey = (avatarId: string) => `${avatarPrefix(avatarId)}upload`;
export const modelKey = (avatarId: string, format: ModelFormat) => `${avatarPrefix(avatarId)}model.${format}`;
/** The preview's key carries a random token: its public URL cannot be guessed from the avatar's id. */
export const previewKey = (avatarId: string, token: string) => `${avatarPrefix(avatarId)}preview-${token}`;

/** Every file of an avatar (upload, model, preview). */
export async function removeFiles(bucket: R2Bucket, avatarId: string): Promise<void> {
  for (let cursor: string | undefined; ; ) {
    const page = await bucket.list({ prefix: avatarPrefix(avatarId), ...(cursor ? { cursor } : {}) });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
    if (!page.truncated) return;
    cursor = page.cursor;
  }
}

/** What the processing job is started with (its instance id is the avatar's id). */
export interface ProcessingParams {
  avatarId: string;
  orgId: string;
  sourceFormat: SourceFormat;
  runtimeType: RuntimeType;
  name: string;
  /** Random, base64url: names the preview file (previewKey). */
  previewToken: string;
  /** How long the upload URL works (ms): the job waits that long for the file, and a little more. */
  uploadTtlMs: number;
  /** The id of its `avatar.ready` or `avatar.failed` event, fixed at creation so a retry cannot store two. */
  eventId: string;
}

/**
 * Starts the avatar's job (its instance id is the avatar's). If the platform refuses, the avatar just
 * written is removed again: no avatar waits for a job that does not exist.
 */
export async function startProcessing(workflow: Workflow<ProcessingParams>, db: Db, params: ProcessingParams): Promise<void> {
  try {
    disposeStub(await workflow.create({ id: params.avatarId, params }));
  } catch (err) {
    await db.delete(avatars).where(eq(avatars.id, params.avatarId));
    throw err;
  }
}

/** Tells the avatar's job that its file is in storage. */
export async function announceUpload(workflow: Workflow<ProcessingParams>, avatarId: string, event: UploadEvent): Promise<void> {
  const instance = await workflow.get(avatarId);
  try {
    await instance.sendEvent({ type: UPLOAD_EVENT, payload: event });
  } finally {
    disposeStub(instance);
  }
}

/** A workflow instance is an RPC stub: released now rather than whenever the garbage collector runs. */
const DISPOSE = (Symbol as unknown as { dispose?: symbol }).dispose;
const disposeStub = (instance: WorkflowInstance) => {
  if (DISPOSE) (instance as unknown as Record<symbol, (() => void) | undefined>)[DISPOSE]?.();
};

/** The job's event when the file has arrived. */
export const UPLOAD_EVENT = "upload";
export interface UploadEvent {
  bytes: number;
}

/** What processing measured, shown on `GET /v1/avatars/{id}/model`. */
export interface ModelInfo {
  bytes: number;
  splat_count: number | null;
  bounds: { min: [number, number, number]; max: [number, number, number] } | null;
  image: { width: number; height: number } | null;
}

export const parseModelInfo = (json: string | null): ModelInfo | null => (json === null ? null : (JSON.parse(json) as ModelInfo));

const uploadPath = (avatarId: string) => `/v1/avatars/${encodeURIComponent(avatarId)}/upload`;
// The signature covers the method, the path and the expiry: none can change without breaking it.
const message = (avatarId: string, expires: number) => `PUT ${uploadPath(avatarId)}?expires=${expires}`;

export async function signUploadUrl(opts: { secret: string; baseUrl: string; avatarId: string; expiresAtMs: number }) {
  const expires = Math.floor(opts.expiresAtMs / 1000);
  const signature = await hmacSign(opts.secret, message(opts.avatarId, expires));
  const url = new URL(uploadPath(opts.avatarId), opts.baseUrl);
  url.search = new URLSearchParams({ expires: String(expires), signature }).toString();
  return { url: url.toString(), method: "PUT" as const, expires_at: isoSeconds(expires * 1000), max_bytes: MAX_UPLOAD_BYTES };
}

/** The signature first (an edited expiry is `signature.invalid`), then the expiry. */
export async function verifyUploadUrl(opts: { secret: string; avatarId: string; expires: string; signature: string; now: number }) {
  const expires = Number(opts.expires);
  const canonical = String(expires) === opts.expires;
  if (!canonical || !(await hmacVerify(opts.secret, message(opts.avatarId, expires), opts.signature))) {
    throw new ApiError("signature.invalid", "The upload URL's signature is invalid.", { param: "signature" });
  }
  if (expires * 1000 <= opts.now) {
    throw new ApiError("signature.expired", "This upload URL has expired; create the avatar again for a new one.", { param: "expires" });
  }
}

/**
 * Takes the URL's one upload: only an avatar still waiting for its file, not deleted. A second
 * upload is `409 avatar.upload_used`; a deleted avatar `404`.
 */
export async function claimUpload(db: Db, avatarId: string, now: number): Promise<{ orgId: string }> {
  const [claimed] = await db
    .update(avatars)
    .set({ uploadedAt: now })
    .where(and(eq(avatars.id, avatarId), eq(avatars.status, "processing"), isNull(avatars.uploadedAt), isNull(avatars.deletedAt)))
    .returning({ orgId: avatars.ownerOrgId });
  if (claimed?.orgId) return { orgId: claimed.orgId };
  const row = await db.select({ deletedAt: avatars.deletedAt }).from(avatars).where(eq(avatars.id, avatarId)).get();
  if (!row || row.deletedAt !== null) throw notFound("avatar", avatarId);
  throw new ApiError("avatar.upload_used", "This upload URL has already taken its upload; create a new avatar to upload another file.");
}

/** An upload that did not finish gives the URL back, so the same URL can be tried again before it expires. */
export async function releaseUpload(db: Db, avatarId: string): Promise<void> {
  await db
    .update(avatars)
    .set({ uploadedAt: null })
    .where(and(eq(avatars.id, avatarId), eq(avatars.status, "processing")));
}

export type Outcome =
  | { status: "ready"; modelKey: string | null; modelFormat: ModelFormat | null; previewKey: string | null; info: ModelInfo }
  | { status: "failed"; code: string; message: string };

/**
 * Writes the job's outcome and its webhook event in one batch, once: only an avatar still in
 * `processing` changes, and the event is stored only when this batch's update wrote the row (and
 * under an id fixed when the avatar was created), so a retried step writes nothing twice. Answers the event to
 * dispatch (null when it was already dispatched) and whether the avatar still exists (false: it was
 * deleted meanwhile, and its files are the job's to remove).
 */
export async function recordOutcome(
  db: Db,
  params: ProcessingParams,
  outcome: Outcome,
  now = Date.now(),
): Promise<{ exists: boolean; event: StoredEvent | null }> {
  const set =
    outcome.status === "ready"
      ? {
          status: "ready" as const,
          modelAssetKey: outcome.modelKey,
          modelFormat: outcome.modelFormat,
          previewAssetKey: outcome.previewKey,
          modelInfo: JSON.stringify(outcome.info),
          updatedAt: now,
        }
      : { status: "failed" as const, failureCode: outcome.code, failureMessage: outcome.message, updatedAt: now };
  const type = outcome.status === "ready" ? "avatar.ready" : "avatar.failed";
  const avatar = {
    id: params.avatarId,
    object: "avatar",
    name: params.name,
    status: outcome.status,
    runtime_type: params.runtimeType,
    source_format: params.sourceFormat,
    failure: outcome.status === "failed" ? { code: outcome.code, message: outcome.message } : null,
  };
  const event = buildEvent(params.orgId, type, { avatar }, now, params.eventId);
  const [, , rows] = await db.batch([
    db
      .update(avatars)
      .set(set)
      .where(and(eq(avatars.id, params.avatarId), eq(avatars.status, "processing"), isNull(avatars.deletedAt))),
    db
      .insert(events)
      .select(
        db
          .select({
            id: sql`${event.id}`.as("id"),
            orgId: sql`${event.orgId}`.as("org_id"),
            type: sql`${event.type}`.as("type"),
            payload: sql`${event.payload}`.as("payload"),
            createdAt: sql`${event.createdAt}`.as("created_at"),
            dispatchedAt: sql`NULL`.as("dispatched_at"),
          })
          .from(avatars)
          // This batch's update is the one that wrote the outcome (its own `updated_at`): a retry stores nothing.
          .where(and(eq(avatars.id, params.avatarId), eq(avatars.status, outcome.status), eq(avatars.updatedAt, now), isNull(avatars.deletedAt))),
      )
      .onConflictDoNothing({ target: events.id }),
    db
      .select({
        deletedAt: avatars.deletedAt,
        dispatchedAt: sql<number | null>`(SELECT dispatched_at FROM events WHERE id = ${event.id})`,
        stored: sql<number>`(SELECT count(*) FROM events WHERE id = ${event.id})`,
      })
      .from(avatars)
      .where(eq(avatars.id, params.avatarId)),
  ]);
  const row = rows[0];
  return { exists: row !== undefined && row.deletedAt === null, event: row && row.stored > 0 && row.dispatchedAt === null ? event : null };
}
