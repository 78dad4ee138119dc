import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { unstable_splitSqlQuery } from "wrangler";
import { defineConfig } from "vitest/config";

const root = path.join(import.meta.dirname, "..");
const seedDir = path.join(root, "migrations", "seed");

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  // The same local seed `npm start` loads: SQL statements and the demo model files (base64, since
  // bindings must be serialisable).
  const seed = {
    statements: unstable_splitSqlQuery(readFileSync(path.join(seedDir, "local.sql"), "utf8")),
    models: readdirSync(path.join(seedDir, "models")).map((name) => ({
      key: name,
      base64: readFileSync(path.join(seedDir, "models", name)).toString("base64"),
    })),
  };
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: path.join(root, "wrangler.toml") },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            TEST_SEED: seed,
            ASSET_SIGNING_SECRET: "test-asset-signing-secret",
            JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
          },
        },
      }),
    ],
    test: {
      root,
      include: ["test/**/*.test.ts"],
      setupFiles: [path.join(root, "test/setup/apply-migrations.ts")],
    },
  };
});
