import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import type { TestProject } from "vitest/node";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { applySeed } from "../../src/cli/apply-seed.mjs";
import { measureBundle } from "../../src/cli/bundle-size.mjs";
import { copyDocsAssets } from "../../src/cli/docs-assets.mjs";
import { readMigrations, readSeed } from "../../src/cli/seed.mjs";
import { hermeticSettings, WRANGLER_TOML } from "./settings.ts";

/**
 * The Node-side tests talk to the API over real sockets, as clients do: the Worker bundled exactly
 * as `wrangler deploy` ships it, served by Miniflare (workerd) on a loopback port, with the
 * migrations and the local seed applied.
 */
export default async function setup(project: TestProject) {
  copyDocsAssets();
  const bundle = measureBundle();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(WRANGLER_TOML);
  const mf = new Miniflare({
    ...workerOptions,
    modules: true,
    scriptPath: bundle.script,
    modulesRoot: dirname(bundle.script),
    // Audio paced as deployed (the default lead): the browser tests play it in real time as a user
    // would, and an interrupt needs a reply still going (unpaced, a two-minute story is all sent
    // within a second, and catching it was a race the socket's deflate used to slow down).
    bindings: { ...workerOptions.bindings, ...hermeticSettings({ CONVERSATION_AUDIO_LEAD_MS: "1500" }) },
    host: "127.0.0.1",
    port: 0,
    cf: false,
  } as ConstructorParameters<typeof Miniflare>[0]);
  const url = await mf.ready;
  const db = await mf.getD1Database("DB");
  await db.batch(readMigrations().map((s) => db.prepare(s)));
  await applySeed({ db, bucket: await mf.getR2Bucket("MODELS") }, readSeed());
  project.provide("apiUrl", url.origin);
  return () => mf.dispose();
}

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
  }
}
