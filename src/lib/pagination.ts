import { z } from "@hono/zod-openapi";
import { type SQL, sql } from "drizzle-orm";
import { ApiError, quote } from "./errors";

/**
 * A whole number in a query string: decimal digits only. `Number()` (and so `z.coerce`) also reads
 * `0x10`, `1e2`, `  5`, `-0` and the empty string, which no client means as a number; they are
 * refused with `message` instead of being quietly read as 16, 100, 5, 0 and 0.
 */
export const decimalQuery = (min: number, max: number, message: string) =>
  z
    .string()
    .regex(/^[0-9]{1,16}$/, { error: message })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: message }).max(max, { error: message }));

/** `limit` and `starting_after`, shared by every collection (the contract's list convention). */
export const paginationQuery = {
  limit: decimalQuery(1, 100, "must be an integer from 1 to 100")
    .default(20)
    .openapi({ type: "integer", minimum: 1, maximum: 100, default: 20, description: "Page size." }),
  starting_after: z.string().min(1).optional().openapi({ description: "Cursor: the `next_cursor` (an item id) of the previous page." }),
};

export const listSchema = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      object: z.literal("list"),
      data: z.array(item),
      has_more: z.boolean(),
      next_cursor: z.string().nullable().openapi({ description: "Id of the last item when `has_more`, else null." }),
    })
    .openapi(name);

export interface Page<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Shapes `limit + 1` fetched rows into a page: the extra row only tells whether there is more. */
export function toPage<Row extends { id: string }, T>(rows: Row[], limit: number, toJson: (row: Row) => T): Page<T> {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return {
    object: "list",
    data: items.map(toJson),
    has_more: hasMore,
    next_cursor: hasMore ? (items[items.length - 1]?.id ?? null) : null,
  };
}

/** The cursor scope of a table whose rows belong to one org (`org_id`), for `afterCursor`. */
export const ownedBy = (orgId: string) => (alias: string) => sql`${sql.identifier(alias)}.org_id = ${orgId}`;

/**
 * The keyset condition for "newest first, ties broken by id": rows strictly after the cursor's own
 * (created_at, id), as one row-value comparison. `scope` restricts the cursor to rows the caller may
 * see; an unknown or out-of-scope cursor makes the subquery NULL and the page empty.
 */
export const afterCursor = (table: string, cursor: string, scope: (alias: string) => SQL) => {
  const t = sql.identifier(table);
  return sql`(${t}.created_at, ${t}.id) < (SELECT c.created_at, c.id FROM ${t} c WHERE c.id = ${cursor} AND ${scope("c")})`;
};

/**
 * An empty page after a cursor is either the end of the list or a cursor that never existed; only
 * then is the cursor looked up (one extra query at the end of a walk, none on the way).
 */
export async function checkCursor<T>(rows: T[], cursor: string | undefined, exists: (cursor: string) => Promise<boolean>) {
  if (rows.length === 0 && cursor !== undefined && !(await exists(cursor))) {
    throw new ApiError("parameter.invalid", `No item with id ${quote(cursor)} to start after.`, {
      param: "starting_after",
    });
  }
  return rows;
}
