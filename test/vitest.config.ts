import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { unstable_readConfig } from "wrangler";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "../src/cli/docs-assets.mjs";
import { readSeed } from "../src/cli/seed.mjs";
import { SETTING_NAMES } from "../src/config";

const root = path.join(import.meta.dirname, "..");
const wranglerToml = path.join(root, "wrangler.toml");

/** Settings the tests depend on; every other setting is reset below. */
const TEST_SETTINGS: Record<string, string> = {
  ASSET_SIGNING_SECRET: "test-asset-signing-secret",
  JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
  // An error code a route did not declare fails the test that provoked it (see app.ts).
  STRICT_ERROR_CODES: "on",
};

/**
 * Hermetic settings: wrangler loads the developer's .dev.vars into the pool, so every setting the
 * API reads is pinned here to its test value, its wrangler.toml value, or "" (unset). Nothing a
 * developer puts in .dev.vars can change a test's outcome (CI proves it with a hostile .dev.vars).
 */
function hermeticSettings(): Record<string, string> {
  const vars = unstable_readConfig({ config: wranglerToml }).vars as Record<string, string>;
  return Object.fromEntries(SETTING_NAMES.map((name) => [name, TEST_SETTINGS[name] ?? vars[name] ?? ""]));
}

/**
 * At the end of every test file the pool's runner stops: it calls close() on its Node↔workerd
 * WebSocket and disposes Miniflare in the same tick (pool 0.15.1, `stop()`), so workerd sees the
 * peer vanish before the close frame and logs it as an exception, on stdout. The pool already
 * filters the sibling messages ("WebSocket was aborted"); this one is the same expected event and
 * says nothing about our code, so it is dropped here and nowhere else.
 */
const RUNNER_SOCKET_NOISE = "workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected";
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).includes(RUNNER_SOCKET_NOISE) ? true : write(chunk, ...rest)) as typeof stream.write;
}

export default defineConfig(async () => {
  copyDocsAssets();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: wranglerToml },
        miniflare: {
          bindings: {
            ...hermeticSettings(),
            TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
            // The same local seed `npm start` loads (model files as base64: bindings must serialise).
            TEST_SEED: readSeed(),
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
