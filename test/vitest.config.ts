import { availableParallelism } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "../src/cli/docs-assets.mjs";
import { readSeed } from "../src/cli/seed.mjs";
import { DOCUMENTED_SETTINGS, hermeticSettings, WRANGLER_TOML } from "./node/settings.ts";

const root = path.join(import.meta.dirname, "..");

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

/** Providers pointed at the fakes of test/upstreams/fakes.ts, with short timeouts. */
const UPSTREAM_SETTINGS = {
  OPENAI_API_KEY: "sk-fake-conversations-0001",
  OPENAI_BASE_URL: "https://fake-openai.test/v1",
  DEEPGRAM_API_KEY: "dg-fake-conversations-0001",
  DEEPGRAM_BASE_URL: "https://fake-deepgram.test",
  LLM_FIRST_BYTE_TIMEOUT_MS: "500",
  LLM_STREAM_IDLE_TIMEOUT_MS: "500",
  TTS_FIRST_BYTE_TIMEOUT_MS: "500",
  TTS_STREAM_IDLE_TIMEOUT_MS: "500",
  // A socket's speech-to-text session closes after 1.5 s without speech (the idle test waits that long).
  VOICE_STT_IDLE_MS: "1500",
};

/**
 * Dependencies pre-bundled (Vite's optimizer, for the `ssr` environment the Workers pool imports
 * through): every test file starts a fresh workerd and imports the whole Worker into it, module by
 * module, each one a round trip to Node. zod, drizzle, jose and hono are about 280 of its 430
 * modules; bundled they are a handful. The list is what src/ imports at run time (a dependency left
 * out still works, unbundled). Bundles are cached under node_modules/.vite; a changed lockfile or
 * list rebuilds them.
 */
const PREBUNDLED = [
  "@hono/zod-openapi",
  "drizzle-orm",
  "drizzle-orm/d1",
  "drizzle-orm/sqlite-core",
  "eventsource-parser",
  "hono",
  "hono/factory",
  "hono/http-exception",
  "hono/router/trie-router",
  "jose",
  "ulid",
  "zod",
];

const workersProject = async (name: string, include: string[], settings: Record<string, string> = {}) => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: WRANGLER_TOML },
      miniflare: {
        bindings: {
          ...hermeticSettings(settings),
          TEST_DOCUMENTED_SETTINGS: DOCUMENTED_SETTINGS,
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
          // The same local seed `npm start` loads (model files as base64: bindings must serialise).
          TEST_SEED: readSeed(),
        },
      },
    }),
  ],
  test: {
    name,
    root,
    include,
    setupFiles: [path.join(root, "test/setup/apply-migrations.ts")],
    deps: { optimizer: { ssr: { enabled: true, include: PREBUNDLED } } },
  },
});

/**
 * Four projects: `workers` runs each behaviour inside workerd (the Workers pool, real local D1, R2
 * and Durable Objects, storage isolated per file); `upstreams` does the same with providers
 * configured against fakes; `node` drives the bundled Worker over real sockets from Node, as
 * clients and SDKs do; `unit` tests pure modules (no workerd, no migrations, no seed) in Node.
 */
export default defineConfig(async () => {
  copyDocsAssets();
  return {
    test: {
      root,
      // Two test files at a time even on two cores (Vitest's default would be one): a Workers file
      // spends most of its time waiting on round trips between Node and its workerd, so two of them
      // keep both cores busy. `--maxWorkers` on the command line still decides.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      projects: [
        await workersProject("workers", ["test/*.test.ts"]),
        // The same runtime with upstream providers configured and pointed at fake hosts the tests
        // answer (outbound fetch is intercepted): the conversation pipeline against upstream-shaped
        // streams, stalls and failures. Settings are per runtime, hence a project of its own.
        await workersProject("upstreams", ["test/upstreams/*.test.ts"], UPSTREAM_SETTINGS),
        {
          test: {
            name: "node",
            root,
            environment: "node",
            include: ["test/node/**/*.test.ts"],
            globalSetup: [path.join(root, "test/node/global-setup.ts")],
            // Real servers, sockets, a browser and their timeouts: one file at a time, after the
            // other projects, with the machine to themselves as before.
            maxWorkers: 1,
            sequence: { groupOrder: 1 },
          },
        },
        {
          test: {
            name: "unit",
            root,
            environment: "node",
            include: ["test/unit/**/*.test.ts"],
            // Code that reads settings gets the ones the Workers projects run with.
            provide: { settings: hermeticSettings() },
          },
        },
      ],
    },
  };
});
