// @ts-check
// Where `wrangler dev` keeps the local D1 and R2 data, for the code that seeds them without wrangler
// (start.mjs, the tests' wrangler-dev.ts): Miniflare files them under the database id and the bucket
// name. They come from wrangler.toml, as wrangler takes them, so the seed lands in the files
// `wrangler dev` reads even after production setup replaced the placeholder database_id.
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
