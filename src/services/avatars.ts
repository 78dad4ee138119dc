import { and, desc, eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type AvatarStatus, avatarFavorites, avatars, type RuntimeType } from "../db/schema";
import { afterCursor, checkCursor } from "../lib/pagination";

// The correlated subqueries below are written as SQL with explicit table aliases: drizzle leaves
// columns unqualified in a single-table select list, which would silently bind to the wrong table.

/** An org sees platform avatars, public avatars and its own; nothing else exists for it. */
const visibleTo = (orgId: string, table = "avatars") => {
  const t = sql.identifier(table);
  return sql`(${t}.owner_org_id IS NULL OR ${t}.is_public = 1 OR ${t}.owner_org_id = ${orgId})`;
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
  return db.select({ key: avatars.modelAssetKey, format: avatars.modelFormat }).from(avatars).where(eq(avatars.id, id)).get();
}
