import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applySeed } from "../../src/cli/apply-seed.mjs";
import { withLocalState } from "../../src/cli/local-bindings.mjs";
import { tryListen } from "../../src/cli/port.mjs";
import { ROOT, readMigrations, readSeed } from "../../src/cli/seed.mjs";
import { hermeticSettings, WRANGLER_TOML } from "./settings.ts";

export interface WranglerDev {
  url: URL;
  /** What wrangler printed so far (for a failing assertion's message). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Migrations and the local seed, where `wrangler dev --persist-to <persist>` (and `wrangler d1
 * execute --local --persist-to <persist>`) keeps D1 and R2, as start.mjs seeds .wrangler/state/v3.
 */
export async function migrateAndSeed(persist: string) {
  await withLocalState(persist, async ({ db, bucket }) => {
    await db.batch(readMigrations().map((s) => db.prepare(s)));
    await applySeed({ db, bucket }, readSeed());
  });
}

export interface WranglerDevOptions {
  /**
   * A persistence directory the caller prepared (`migrateAndSeed`) and owns: used as is, neither
   * seeded again nor removed by stop(). For tests that write it with other tools too (the operator
   * commands).
   */
  persistTo?: string;
  /** Settings over the tests' pinned ones (test/node/settings.ts). */
  settings?: Record<string, string>;
}

/**
 * `wrangler dev` as `npm start` (src/cli/start.mjs) runs it, same wrangler.toml, same flags, so
 * requests pass wrangler's own proxy in front of the Worker as they do for a developer, with three
 * differences that keep it hermetic: a free port, its own persistence directory (migrations and the
 * local seed applied there as start.mjs applies them to .wrangler/state), and the tests' pinned
 * settings from an env file instead of the developer's .dev.vars (`--env-file` replaces .dev.vars).
 * start.mjs is not run itself: it always uses .wrangler/state and .dev.vars (creating it when
 * missing), which belong to the developer and which a test must not read or touch.
 */
export async function startWranglerDev(options: WranglerDevOptions = {}): Promise<WranglerDev> {
  const dir = mkdtempSync(join(tmpdir(), "avatar-api-wrangler-dev-"));
  const persist = options.persistTo ?? join(dir, "state");
  const envFile = join(dir, "settings.env");
  writeFileSync(
    envFile,
    Object.entries(hermeticSettings(options.settings))
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );

  const free = await tryListen(0, "127.0.0.1");
  if (free.error) throw new Error(`no free port: ${free.error}`);
  const { port } = free;
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
  const args = ["dev", "--config", WRANGLER_TOML, "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled"];
  args.push("--persist-to", persist, "--env-file", envFile);
  // Its own process group, so that stop() ends wrangler and the workerd processes it started.
  const child = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let printed = "";
  child.stdout.on("data", (d: Buffer) => (printed += d.toString()));
  child.stderr.on("data", (d: Buffer) => (printed += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const killed = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Seeded while wrangler bundles and starts: its runtime opens the database on the first query,
  // and no request is sent before both are done.
  const seeded = options.persistTo === undefined ? migrateAndSeed(persist).catch((e: unknown) => e) : Promise.resolve(undefined);
  const url = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${printed}`);
    }
    const res = await fetch(new URL("/health", url), { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (res?.status === 200) {
      await res.arrayBuffer();
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer /health within 60 s:\n${printed}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const seedError = await seeded;
  if (seedError) {
    await stop();
    throw seedError;
  }
  return { url, output: () => printed, stop };
}
