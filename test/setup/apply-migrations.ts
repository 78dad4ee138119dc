import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { loadSeed } from "../helpers/seed";

// Storage is isolated per test file; each file starts from the migrated schema plus the local seed.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await loadSeed(env);
