import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { applySeed } from "../../src/cli/apply-seed.mjs";

// Storage is isolated per test file; each file starts from the migrated schema plus the local seed.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applySeed({ db: env.DB, bucket: env.MODELS }, env.TEST_SEED);
