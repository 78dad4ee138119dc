import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../src/cli/seed.mjs";

/**
 * `npm start` checks its port before anything else. Only the refusals are run here: a start that got
 * past them would use the developer's .wrangler/state and .dev.vars, which a test must not touch (the
 * whole start, summary last, is checked by hand in a copy of the project).
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** src/cli/start.mjs with PORT (and HOST) set; killed, with its process group, if it runs on. */
function start(env: Record<string, string>, timeoutMs = 10_000) {
  return new Promise<Run>((resolve) => {
    const began = Date.now();
    const child = spawn(process.execPath, [join(ROOT, "src/cli/start.mjs")], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - began });
    });
  });
}

describe("npm start with its port taken", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("says so in one line, suggests a free port and exits 1 before any other work", async () => {
    const run = await start({ PORT: String(port), HOST: "127.0.0.1" });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.ms).toBeLessThan(3000);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is in use; choose another: HOST=127\\.0\\.0\\.1 PORT=(\\d+) npm start$`));
    const suggested = Number(/PORT=(\d+)/.exec(lines[0] ?? "")?.[1]);
    expect(suggested).toBeGreaterThan(port);
    // Nothing of the later steps: no migrations, no workerd exception.
    expect(run.stderr).not.toMatch(/migration|kj::|wrangler/i);
  });

  it("refuses a PORT that is not a port number the same way", async () => {
    const run = await start({ PORT: "87a87" });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe("PORT=87a87 is not a port number; for example: PORT=8788 npm start");
  });
});
