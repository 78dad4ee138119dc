import { drizzle } from "drizzle-orm/d1";

// No relational `schema` option: it is rebuilt on every drizzle() call and the query builder does not
// need it. One instance per D1 binding object (stable within an isolate) keeps requests from paying
// for construction at all.
const instances = new WeakMap<D1Database, ReturnType<typeof drizzle>>();

export const createDb = (d1: D1Database) => {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1);
    instances.set(d1, db);
  }
  return db;
};
export type Db = ReturnType<typeof createDb>;

/**
 * A read handle near the user: a D1 session that may start on any replica
 * (`first-unconstrained`), or on one at least as fresh as `bookmark` (the last revocation this
 * isolate has heard of), so a read is never older than what it must see. Per request (a session is),
 * hence only built where a route reads through it. drizzle types only D1Database, but calls nothing
 * a session lacks (prepare, batch).
 */
export const createReadDb = (d1: D1Database, bookmark: string | undefined): Db =>
  drizzle(d1.withSession(bookmark ?? "first-unconstrained") as unknown as D1Database);

/** A handle on the primary whose bookmark (after its writes) can be handed on. */
export const createPrimarySession = (d1: D1Database) => {
  const session = d1.withSession("first-primary");
  return { db: drizzle(session as unknown as D1Database) as Db, bookmark: () => session.getBookmark() ?? undefined };
};
