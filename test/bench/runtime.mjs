// Starts the API and the baseline workers in one Miniflare (one workerd process), each on its own
// loopback socket straight into the worker: no wrangler dev proxy, no Miniflare entry worker, no
// request logging — the closest local stand-in for a Worker in production.
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { applySeed } from "../../src/cli/apply-seed.mjs";
import { readMigrations, readSeed } from "../../src/cli/seed.mjs";
import { pinSettings } from "../../src/cli/settings.mjs";
import * as baselines from "./baselines.mjs";

/** An enterprise org whose limit the benchmark cannot reach, so no request is a 429. */
export const BENCH_KEY = "av_test_bench000000000000000000000000000000";
/** An org whose limit the benchmark does reach: the most admitted per window is checked against it. */
export const WINDOW_KEY = "av_test_benchwindow0000000000000000000000000";
export const WINDOW_LIMIT = 600;
/** The bench org again, with daily quotas on every metric (too large to reach): what a quota costs. */
export const QUOTA_KEY = "av_test_benchquota00000000000000000000000000";
export const BENCH_JWT_SECRET = "bench-jwt-secret-0123456789abcdef";
/** Round trips the latency probe adds at the binding boundary (Durable Object RPC and D1 primary). */
export const INJECTED_MS = [0, 20, 80, 250];
const BENCH_SEED = `
INSERT INTO orgs (id, name, tier, rate_limit_per_minute, max_concurrent_conversations, created_at) VALUES ('org_bench', 'Bench', 'enterprise', 1000000000, 100000, 0);
INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at)
  VALUES ('key_bench', 'org_bench', 'bench', 'test', '__HASH__', 'av_test_benc', '0000', 0);
INSERT INTO orgs (id, name, tier, rate_limit_per_minute, created_at) VALUES ('org_bench_window', 'Bench window', 'enterprise', ${WINDOW_LIMIT}, 0);
INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at)
  VALUES ('key_bench_window', 'org_bench_window', 'window', 'test', '__WINDOW_HASH__', 'av_test_benc', '0000', 0);
INSERT INTO orgs (id, name, tier, rate_limit_per_minute, max_concurrent_conversations, quotas, created_at)
  VALUES ('org_bench_quota', 'Bench quota', 'enterprise', 1000000000, 100000,
          '{"conversation_seconds":1000000000,"tts_characters":1000000000000,"llm_tokens":1000000000000}', 0);
INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, quotas, created_at)
  VALUES ('key_bench_quota', 'org_bench_quota', 'quota', 'test', '__QUOTA_HASH__', 'av_test_benc', '0000',
          '{"conversation_seconds":1000000000,"tts_characters":1000000000000,"llm_tokens":1000000000000}', 0);`;

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const sha256Hex = async (s) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))).toString("hex");

/** The workerd processes Miniflare started (children of this process), whose memory the bench watches. */
function workerdPids() {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes("workerd"))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Bindings of a workflow defined by the "api" worker, for the other workers. */
const onApi = (workflows = {}) => Object.fromEntries(Object.entries(workflows).map(([binding, w]) => [binding, { ...w, scriptName: "api" }]));

/** Attempts at starting the runtime when a port it was given is taken before workerd binds it. */
const START_ATTEMPTS = 3;

/**
 * The API and the baseline workers in one Miniflare. `freePort()` hands back ports that were free a
 * moment before; another socket (an outbound connection's ephemeral port) can take one before
 * workerd binds it, which once ended a full run when a probe started a second runtime. So a start
 * that finds an address in use starts again on new ports.
 * @param {{ root: string, bundle: string }} opts  bundle: the API as `wrangler deploy --dry-run` built it
 * @returns {Promise<{ urls: Record<string, string>, dispose: () => Promise<void>, workerdPid: number | undefined }>}
 */
export async function startRuntime(opts) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= START_ATTEMPTS || /** @type {{ code?: unknown }} */ (err)?.code !== "ERR_ADDRESS_IN_USE") throw err;
      console.log(`bench: a port was taken before workerd bound it; starting again on new ports (attempt ${attempt + 1} of ${START_ATTEMPTS})`);
    }
  }
}

/** @param {{ root: string, bundle: string }} opts */
async function startOnce({ root, bundle }) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  // api_d<ms> / off_d<ms>: more isolates of the API with a round trip added to every call of the
  // org's limiter object and the D1 primary (a near replica: 5 ms), with and without rate limiting;
  // they share the first API's limiter objects, as isolates in other locations would.
  const delayed = INJECTED_MS.flatMap((ms) => [`api_d${ms}`, `off_d${ms}`]);
  const names = ["api", "apiNoLimit", "bare", "d1", "durableObject", "limiter", "fakeOpenAi", "fakeDeepgram", "wsEcho", ...delayed];
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
  const socket = (name) => [{ host: "127.0.0.1", port: ports[name] }];
  const compat = { compatibilityDate: workerOptions.compatibilityDate, compatibilityFlags: workerOptions.compatibilityFlags };
  // Every documented setting pinned, so a developer's .dev.vars cannot change what is measured.
  const settings = pinSettings({
    ASSET_SIGNING_SECRET: "bench-asset-secret",
    JWT_SECRET: BENCH_JWT_SECRET,
    // The window probe stands for several isolates with X-Sim-Holder.
    LIMITER_SIMULATED_HOLDERS: "on",
    // The AI gateway's OpenAI provider talks to the fake upstream on loopback.
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: `http://127.0.0.1:${ports.fakeOpenAi}/v1`,
    // The TTS gateway's Deepgram provider talks to the fake speech upstream.
    DEEPGRAM_API_KEY: "dg-bench",
    DEEPGRAM_BASE_URL: `http://127.0.0.1:${ports.fakeDeepgram}`,
    // Webhook receivers are servers of the bench process on loopback.
    WEBHOOKS_ALLOW_INSECURE_URLS: "on",
  });
  const api = (name, extra = {}) => ({
    ...workerOptions,
    // One consumer per queue: the first API worker delivers the webhooks of both.
    queueConsumers: name === "api" ? workerOptions.queueConsumers : undefined,
    // One definition per workflow too: the other API workers start the first one's jobs.
    workflows: name === "api" ? workerOptions.workflows : onApi(workerOptions.workflows),
    name,
    modules: true,
    scriptPath: bundle,
    modulesRoot: dirname(bundle),
    bindings: { ...workerOptions.bindings, ...settings, ...extra },
    unsafeDirectSockets: socket(name),
    // Miniflare sends every outbound fetch through a JavaScript worker of its own that rewrites two
    // headers (CF-Connecting-IP, CF-Worker); the platform does that without one. That hop cost the
    // model's request ~0.2-0.3 ms of a turn here, which is the simulator's, not the API's.
    stripCfConnectingIp: false,
  });

  // A probe may start a second runtime beside the first: its workerd is the one that was not there before.
  const before = new Set(workerdPids());
  const mf = new Miniflare({
    cf: false,
    workers: [
      api("api"),
      api("apiNoLimit", { RATE_LIMITING: "off" }),
      ...INJECTED_MS.flatMap((ms) =>
        [`api_d${ms}`, `off_d${ms}`].map((name) => ({
          ...api(name, {
            ...(name.startsWith("off") ? { RATE_LIMITING: "off" } : {}),
            SIM_DO_RTT_MS: String(ms),
            SIM_D1_PRIMARY_RTT_MS: String(ms),
            SIM_D1_REPLICA_RTT_MS: ms > 0 ? "5" : "0",
          }),
          durableObjects: { ...workerOptions.durableObjects, RATE_LIMITER: { className: "RateLimiter", scriptName: "api", useSQLite: true } },
        })),
      ),
      { ...compat, name: "bare", modules: true, script: baselines.bare, unsafeDirectSockets: socket("bare") },
      { ...compat, name: "fakeOpenAi", modules: true, script: baselines.fakeOpenAi, unsafeDirectSockets: socket("fakeOpenAi") },
      { ...compat, name: "fakeDeepgram", modules: true, script: baselines.fakeDeepgram, unsafeDirectSockets: socket("fakeDeepgram") },
      { ...compat, name: "d1", modules: true, script: baselines.d1, d1Databases: workerOptions.d1Databases, unsafeDirectSockets: socket("d1") },
      {
        ...compat,
        name: "durableObject",
        modules: true,
        script: baselines.durableObject,
        durableObjects: { ECHO: { className: "Echo", useSQLite: true } },
        unsafeDirectSockets: socket("durableObject"),
      },
      {
        ...compat,
        name: "wsEcho",
        modules: true,
        script: baselines.wsEcho,
        durableObjects: { ROOM: { className: "Room", useSQLite: true } },
        unsafeDirectSockets: socket("wsEcho"),
      },
      {
        ...compat,
        name: "limiter",
        modules: true,
        script: baselines.limiter,
        durableObjects: { RATE_LIMITER: { className: "RateLimiter", scriptName: "api", useSQLite: true } },
        unsafeDirectSockets: socket("limiter"),
      },
    ],
  });
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }

  // Migrations, the local seed, and the bench org, exactly as the tests and `npm start` load them.
  const db = await mf.getD1Database("DB", "api");
  await db.batch(readMigrations().map((s) => db.prepare(s)));
  await applySeed(
    { db, bucket: await mf.getR2Bucket("MODELS", "api") },
    readSeed([
      BENCH_SEED.replace("__HASH__", await sha256Hex(BENCH_KEY))
        .replace("__WINDOW_HASH__", await sha256Hex(WINDOW_KEY))
        .replace("__QUOTA_HASH__", await sha256Hex(QUOTA_KEY)),
    ]),
  );

  const urls = Object.fromEntries(names.map((n) => [n, `http://127.0.0.1:${ports[n]}`]));
  return { urls, dispose: () => mf.dispose(), workerdPid: workerdPids().find((pid) => !before.has(pid)) };
}
