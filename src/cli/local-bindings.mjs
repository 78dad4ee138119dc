// @ts-check
// Where `wrangler dev` keeps the local D1 and R2 data, for the code that seeds them without wrangler
// (start.mjs, the tests' wrangler-dev.ts): Miniflare files them under the database id and the bucket
// name. They come from wrangler.toml, as wrangler takes them, so the seed lands in the files
// `wrangler dev` reads even after production setup replaced the placeholder database_id.
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";
import { WRANGLER_TOML } from "./settings.mjs";

export function localBindings() {
  const config = unstable_readConfig({ config: WRANGLER_TOML });
  const db = config.d1_databases.find((/** @type {{ binding: string }} */ d) => d.binding === "DB");
  const models = config.r2_buckets.find((/** @type {{ binding: string }} */ b) => b.binding === "MODELS");
  // wrangler dev's own choice (d1DatabaseEntry, r2BucketEntry): the preview id when there is one.
  const d1Id = db?.preview_database_id ?? db?.database_id;
  const bucket = models?.bucket_name;
  if (typeof d1Id !== "string" || typeof bucket !== "string") {
    throw new Error(`${WRANGLER_TOML} lacks the D1 binding DB (with a database_id) or the R2 binding MODELS`);
  }
  return { d1Databases: { DB: d1Id }, r2Buckets: { MODELS: bucket } };
}

/**
 * Runs `work` on the local D1 and R2 kept under `persistTo` (as `wrangler dev --persist-to` keeps
 * them; `.wrangler/state` by default), through a bare Miniflare disposed afterwards.
 * @template T
 * @param {string} persistTo
 * @param {(state: { db: Awaited<ReturnType<Miniflare["getD1Database"]>>, bucket: Awaited<ReturnType<Miniflare["getR2Bucket"]>> }) => Promise<T>} work
 */
export async function withLocalState(persistTo, work) {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch: () => new Response(null, { status: 404 }) }",
    ...localBindings(),
    d1Persist: join(persistTo, "v3", "d1"),
    r2Persist: join(persistTo, "v3", "r2"),
  });
  try {
    return await work({ db: await mf.getD1Database("DB"), bucket: await mf.getR2Bucket("MODELS") });
  } finally {
    await mf.dispose();
  }
}
