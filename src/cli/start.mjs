// @ts-check
// `npm start`: local database, seed data and model files, then `wrangler dev` on :8787.
// Everything here is local-only: remote databases get migrations through `npm run deploy`, never seeds.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { Miniflare } from "miniflare";
import { applySeed } from "./apply-seed.mjs";
import { copyDocsAssets } from "./docs-assets.mjs";
import { readSeed, ROOT as root } from "./seed.mjs";
const port = process.env.PORT ?? "8787";
const host = process.env.HOST ?? "127.0.0.1";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const wrangler = `${root}node_modules/.bin/wrangler`;

process.chdir(root);

// .dev.vars is the developer's own (git-ignored): create it from the example, or add the variables a
// newer example introduced, never overwriting a value that is already there.
if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local-only values).");
} else {
  const have = parseEnv(readFileSync(".dev.vars", "utf8"));
  const missing = Object.entries(parseEnv(readFileSync(".dev.vars.example", "utf8"))).filter(([name]) => !(name in have));
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n# Added from .dev.vars.example by npm start\n${missing.map(([k, v]) => `${k}=${v}`).join("\n")}\n`);
    console.log(`Added ${missing.map(([k]) => k).join(", ")} to .dev.vars from .dev.vars.example.`);
  }
}

copyDocsAssets();

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// A bare Miniflare with just D1 and R2, persisted where `wrangler dev` keeps them (.wrangler/state/v3),
// under the database id and bucket name of wrangler.toml.
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch: () => new Response(null, { status: 404 }) }",
  d1Databases: { DB: "00000000-0000-0000-0000-000000000000" },
  d1Persist: ".wrangler/state/v3/d1",
  r2Buckets: { MODELS: "avatar-api-models" },
  r2Persist: ".wrangler/state/v3/r2",
});
const seed = readSeed();
await applySeed({ db: await mf.getD1Database("DB"), bucket: await mf.getR2Bucket("MODELS") }, seed);
await mf.dispose();
console.log(`Seeded ${seed.statements.length} statements and ${seed.models.length} model files.`);

console.log(`
Local API keys (seed data, local only):
  org_demo   enterprise, 100000/min   av_test_demo00000000000000000000000000000000
  org_free   free, 10/min             av_test_free00000000000000000000000000000000
  org_other  pro, 60/min              av_test_other0000000000000000000000000000000

  curl -H 'Authorization: Bearer av_test_demo00000000000000000000000000000000' http://${host}:${port}/v1/avatars
  Key management takes a user JWT:  npm run token -- --org org_demo
  API reference: http://${host}:${port}/docs
`);

// --test-scheduled: crons do not fire under wrangler dev; GET /__scheduled runs the webhook sweep.
const dev = spawn(wrangler, ["dev", "--port", port, "--ip", host, "--show-interactive-dev-session=false", "--test-scheduled"], { stdio: "inherit", env });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
