// @ts-check
// The local seed (migrations/seed/): orgs, keys and avatars for local use and tests, and the demo
// model files. Read here, in Node, once; applied by apply-seed.mjs. Never applied remotely.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_splitSqlQuery } from "wrangler";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SEED_DIR = join(ROOT, "migrations", "seed");

/**
 * The seed's SQL statements and model files (base64, so the seed can travel as a test binding).
 * @param {string[]} [extraSql] more SQL to run after the seed (the benchmark's own org)
 * @returns {import("./apply-seed.mjs").Seed}
 */
export function readSeed(extraSql = []) {
  const sql = [readFileSync(join(SEED_DIR, "local.sql"), "utf8"), ...extraSql];
  return {
    statements: sql.flatMap((file) => unstable_splitSqlQuery(file)),
    models: readdirSync(join(SEED_DIR, "models")).map((key) => ({
      key,
      base64: readFileSync(join(SEED_DIR, "models", key)).toString("base64"),
    })),
  };
}

/** The numbered migrations as SQL statements, in order (for a database wrangler does not manage). */
export function readMigrations() {
  const dir = join(ROOT, "migrations");
  return readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .flatMap((f) => unstable_splitSqlQuery(readFileSync(join(dir, f), "utf8")));
}
