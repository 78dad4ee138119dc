import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { applySeed } from "../../src/cli/apply-seed.mjs";

// Storage is isolated per test file (each file gets a fresh workerd); each file starts from the
// migrated schema plus the local seed. That takes about 70 ms. What Vitest counts as this file's
// "setup" is mostly the import of `cloudflare:test` above, which imports the Worker (`main`) module
// by module into the fresh runtime; test/vitest.config.ts pre-bundles its dependencies for that.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applySeed({ db: env.DB, bucket: env.MODELS }, env.TEST_SEED);
