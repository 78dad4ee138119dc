import { and, desc, eq, getTableColumns, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type AvatarStatus, avatarFavorites, avatars, type RuntimeType, type SourceFormat, type Tier } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { afterCursor, checkCursor } from "../lib/pagination";
import { avatarsFor } from "../lib/tiers";

// The correlated subqueries below are written as SQL with explicit table aliases: drizzle leaves
// columns unqualified in a single-table select list, which would silently bind to the wrong table.

/** An org sees platform avatars, public avatars and its own, none deleted; nothing else exists for it. */
const visibleTo = (orgId: string, table = "avatars") => {
  const t = sql.identifier(table);
  return sql`(${t}.owner_org_id IS NULL OR ${t}.is_public = 1 OR ${t}.owner_org_id = ${orgId}) AND ${t}.deleted_at IS NULL`;
};

const isFavorite = (orgId: string) => sql`EXISTS (SELECT 1 FROM avatar_favorites f WHERE f.org_id = ${orgId} AND f.avatar_id = avatars.id)`;

/**
 * The avatar columns plus `looks_count` and `is_favorite` as correlated subqueries, so a page of any
 * size is one statement (no query per row). Looks are counted only where the org can see them.
 */
const selectAvatars = (db: Db, orgId: string) =>
  db
    .select({
      ...getTableColumns(avatars),
      looksCount: sql<number>`(SELECT count(*) FROM avatars looks WHERE looks.parent_id = avatars.id AND ${visibleTo(orgId, "looks")})`,
      isFavorite: sql<boolean>`${isFavorite(orgId)}`.mapWith((v) => Boolean(v)),
    })
    .from(avatars);

export type AvatarView = Awaited<ReturnType<ReturnType<typeof selectAvatars>["get"]>> & {};

export interface AvatarFilters {
  limit: number;
  startingAfter?: string | undefined;
  parentId?: string | undefined;
  isFavorite?: boolean | undefined;
  status?: AvatarStatus | undefined;
  runtimeType?: RuntimeType | undefined;
}

/** A page of visible avatars, newest first, ties broken by id; fetches `limit + 1` rows. */
export async function listAvatars(db: Db, orgId: string, f: AvatarFilters): Promise<AvatarView[]> {
  const conditions: (SQL | undefined)[] = [
    visibleTo(orgId),
    f.parentId === undefined ? undefined : eq(avatars.parentId, f.parentId),
    f.status === undefined ? undefined : eq(avatars.status, f.status),
    f.runtimeType === undefined ? undefined : eq(avatars.runtimeType, f.runtimeType),
    f.isFavorite === undefined ? undefined : f.isFavorite ? isFavorite(orgId) : sql`NOT ${isFavorite(orgId)}`,
  ];
  if (f.startingAfter !== undefined) conditions.push(afterCursor("avatars", f.startingAfter, (alias) => visibleTo(orgId, alias)));
  const rows = await selectAvatars(db, orgId)
    .where(and(...conditions))
    .orderBy(desc(avatars.createdAt), desc(avatars.id))
    .limit(f.limit + 1)
    .all();
  return checkCursor(rows, f.startingAfter, (id) => isVisible(db, orgId, id));
}

async function isVisible(db: Db, orgId: string, id: string): Promise<boolean> {
  const row = await db
    .select({ id: avatars.id })
    .from(avatars)
    .where(and(eq(avatars.id, id), visibleTo(orgId)))
    .get();
  return row !== undefined;
}

const getQuery = (db: Db, orgId: string, id: string) => selectAvatars(db, orgId).where(and(eq(avatars.id, id), visibleTo(orgId)));

export async function getAvatar(db: Db, orgId: string, id: string): Promise<AvatarView | undefined> {
  return getQuery(db, orgId, id).get();
}

/**
 * Marks or unmarks a favourite and reads the avatar back, in one batch (one round trip, one
 * transaction). The write is filtered by visibility, so an invisible id changes nothing.
 */
export async function setFavorite(db: Db, orgId: string, id: string, favorite: boolean): Promise<AvatarView | undefined> {
  const write = favorite
    ? db
        .insert(avatarFavorites)
        .select(
          db
            .select({ orgId: sql`${orgId}`.as("org_id"), avatarId: avatars.id, createdAt: sql`${Date.now()}`.as("created_at") })
            .from(avatars)
            .where(and(eq(avatars.id, id), visibleTo(orgId))),
        )
        .onConflictDoNothing()
    : db.delete(avatarFavorites).where(and(eq(avatarFavorites.orgId, orgId), eq(avatarFavorites.avatarId, id)));
  const [, read] = await db.batch([write, getQuery(db, orgId, id)]);
  return read[0];
}

/** Where a signed download finds the model: no org check, the signature is the authorisation. */
export async function getModelAsset(db: Db, id: string) {
  return db
    .select({ key: avatars.modelAssetKey, format: avatars.modelFormat })
    .from(avatars)
    .where(and(eq(avatars.id, id), isNull(avatars.deletedAt)))
    .get();
}

/** Which runtime serves which upload: splats (as PLY, .splat or a GLB) the Gaussian one, a picture the mock one. */
const RUNTIME_OF: Record<SourceFormat, RuntimeType> = { ply: "gaussian", splat: "gaussian", glb: "gaussian", image: "mock" };

export interface NewAvatar {
  name: string;
  parentId: string | null;
  isPublic: boolean;
  runtimeType: RuntimeType;
  sourceFormat: SourceFormat;
  uploadExpiresAt: number;
}

/**
 * A custom avatar in `processing`, waiting for its upload. A look's parent must be one of the org's
 * own characters. The org's cap (by tier) is checked inside the insert itself, so concurrent creates
 * cannot pass it together.
 */
export async function createAvatar(db: Db, org: { id: string; tier: Tier }, input: NewAvatar, now = Date.now()): Promise<AvatarView> {
  if (RUNTIME_OF[input.sourceFormat] !== input.runtimeType) {
    throw new ApiError("parameter.invalid", `A ${input.sourceFormat} upload makes a ${RUNTIME_OF[input.sourceFormat]} avatar, not ${input.runtimeType}.`, {
      param: "source_format",
    });
  }
  if (input.parentId !== null) {
    const parent = await ownAvatar(db, org.id, input.parentId, "parent_id");
    if (parent.parentId !== null) {
      throw new ApiError("parameter.invalid", `${input.parentId} is a look; a look belongs to a character.`, { param: "parent_id" });
    }
  }
  const cap = avatarsFor(org.tier);
  const id = newId("av");
  const own = sql`(SELECT count(*) FROM avatars WHERE owner_org_id = ${org.id} AND deleted_at IS NULL)`;
  const inserted = await db.run(sql`
    INSERT INTO avatars (id, owner_org_id, parent_id, name, is_demo, is_public, active, status, runtime_type, source_format, upload_expires_at, created_at, updated_at)
    SELECT ${id}, ${org.id}, ${input.parentId}, ${input.name}, 0, ${input.isPublic ? 1 : 0}, 1, 'processing', ${input.runtimeType}, ${input.sourceFormat}, ${input.uploadExpiresAt}, ${now}, ${now}
    WHERE ${own} < ${cap}`);
  if (inserted.meta.changes === 0) {
    throw new ApiError("avatar.limit_reached", `Your organisation has ${cap} avatars, the most its tier allows; delete one to add another.`);
  }
  const row = await getAvatar(db, org.id, id);
  if (!row) throw new Error("inserted avatar not found");
  return row;
}

/** The org's own avatar, for a change: another org's private one is `404`, a platform or another org's public one `403`. */
async function ownAvatar(db: Db, orgId: string, id: string, param?: string): Promise<AvatarView> {
  const row = await getAvatar(db, orgId, id);
  if (!row) throw notFound("avatar", id, param);
  if (row.ownerOrgId !== orgId) {
    throw new ApiError("avatar.read_only", `${id} is not one of your organisation's avatars; it can be used, not changed.`, { param });
  }
  return row;
}

export interface AvatarPatch {
  name?: string | undefined;
  isPublic?: boolean | undefined;
  active?: boolean | undefined;
}

export async function updateAvatar(db: Db, orgId: string, id: string, patch: AvatarPatch): Promise<AvatarView> {
  const current = await ownAvatar(db, orgId, id);
  const columns = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.isPublic === undefined ? {} : { isPublic: patch.isPublic }),
    ...(patch.active === undefined ? {} : { active: patch.active }),
  };
  if (Object.keys(columns).length === 0) return current;
  const [, read] = await db.batch([
    db
      .update(avatars)
      .set({ ...columns, updatedAt: Date.now() })
      .where(and(eq(avatars.id, id), eq(avatars.ownerOrgId, orgId), isNull(avatars.deletedAt))),
    getQuery(db, orgId, id),
  ]);
  const row = read[0];
  if (!row) throw notFound("avatar", id);
  return row;
}

/**
 * Deletes one of the org's avatars and, for a character, its looks: gone from every read at once
 * (the row is kept, marked, so the conversations that used it keep a valid `avatar_id`). Answers the
 * ids deleted; their files are the caller's to remove.
 */
export async function deleteAvatar(db: Db, orgId: string, id: string): Promise<string[]> {
  await ownAvatar(db, orgId, id);
  const now = Date.now();
  const gone = await db
    .update(avatars)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(avatars.ownerOrgId, orgId), isNull(avatars.deletedAt), or(eq(avatars.id, id), eq(avatars.parentId, id))))
    .returning({ id: avatars.id });
  const ids = gone.map((r) => r.id);
  if (ids.length > 0) await db.delete(avatarFavorites).where(sql`${avatarFavorites.avatarId} IN ${ids}`);
  return ids;
}
