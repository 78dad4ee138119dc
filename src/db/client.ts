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
