// @ts-check
// `npm start`: local database, seed data and model files, then `wrangler dev` on :8787, and once it
// is ready, what a developer needs (URL, keys, a curl line) as the last thing on screen.
// Everything here is local-only: remote databases get migrations through `npm run deploy`, never seeds.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { copyDocsAssets } from "./docs-assets.mjs";
import { parseDotenv } from "./dotenv.mjs";
import { inspectorPort, nextFreePort, tryListen } from "./port.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? "8787");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const wrangler = `${root}node_modules/.bin/wrangler`;

// The port first: when it is taken, wrangler would fail only after the migrations, in a workerd
// exception. One line and nothing done instead.
if (!/^\d+$/.test(process.env.PORT ?? "8787") || port < 1 || port > 65535) {
  console.error(`PORT=${process.env.PORT} is not a port number; for example: PORT=8788 npm start`);
  process.exit(1);
}
const listen = await tryListen(port, host);
if (listen.error) {
  const withHost = process.env.HOST === undefined ? "" : `HOST=${host} `;
  if (listen.error === "EADDRINUSE" || listen.error === "EACCES") {
    const other = (await nextFreePort(port, host)) ?? port + 1;
    console.error(
      `Port ${port} on ${host} is ${listen.error === "EACCES" ? "not open to this user" : "in use"}; choose another: ${withHost}PORT=${other} npm start`,
    );
  } else {
    console.error(`Cannot listen on ${host} port ${port} (${listen.error}); set HOST to an address of this machine, e.g. HOST=127.0.0.1 npm start`);
  }
  process.exit(1);
}

// Only now the heavy modules (Miniflare, wrangler's API: seconds on a cold disk), so that a busy
// port is reported at once.
const [{ applySeed }, { readSeed }, { withLocalState }] = await Promise.all([import("./apply-seed.mjs"), import("./seed.mjs"), import("./local-bindings.mjs")]);

process.chdir(root);

// .dev.vars is the developer's own (git-ignored): create it from the example, or add the variables a
// newer example introduced, never overwriting a value that is already there.
if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local-only values).");
} else {
  const have = parseDotenv(readFileSync(".dev.vars", "utf8"));
  const missing = Object.entries(parseDotenv(readFileSync(".dev.vars.example", "utf8"))).filter(([name]) => !(name in have));
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n# Added from .dev.vars.example by npm start\n${missing.map(([k, v]) => `${k}=${v}`).join("\n")}\n`);
    console.log(`Added ${missing.map(([k]) => k).join(", ")} to .dev.vars from .dev.vars.example.`);
  }
}

copyDocsAssets();

// wrangler prints its migration table twice (~150 lines): captured, and shown only when it fails.
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
if (migrate.status !== 0) {
  process.stdout.write(migrate.stdout ?? "");
  process.stderr.write(migrate.stderr ?? "");
  console.error(`Applying the local D1 migrations failed${migrate.error ? `: ${migrate.error.message}` : " (wrangler's output above)"}.`);
  process.exit(migrate.status || 1);
}
const applied = Number(/About to apply (\d+) migration/.exec(migrate.stdout)?.[1] ?? 0);

// Where `wrangler dev` keeps them, under the database id and bucket name of wrangler.toml.
const seed = readSeed();
await withLocalState(".wrangler/state", (state) => applySeed(state, seed));
const seeded = `the local seed loaded (${seed.statements.length} statements, ${seed.models.length} model files)`;
console.log(applied > 0 ? `Applied ${applied} migration${applied === 1 ? "" : "s"}; ${seeded}.` : `Database up to date; ${seeded}.`);

// Its own inspector port, so a second `npm start` (another PORT) does not fail on wrangler's 9229.
const inspector = await inspectorPort("127.0.0.1");
// wrangler writes to a pipe here, not the terminal: colours are asked for when the terminal has them.
const color = process.stdout.isTTY && process.env.FORCE_COLOR === undefined ? { FORCE_COLOR: "1" } : {};
// --test-scheduled: crons do not fire under wrangler dev; GET /__scheduled runs the webhook sweep.
const dev = spawn(
  wrangler,
  [
    ...["dev", "--port", String(port), "--ip", host, "--inspector-port", String(inspector), "--inspector-ip", "127.0.0.1"],
    ...["--show-interactive-dev-session=false", "--test-scheduled"],
  ],
  // stdout is read for the "Ready on" line and passed on; stderr, wrangler's errors, goes straight through.
  { stdio: ["inherit", "pipe", "inherit"], env: { ...env, ...color } },
);
// Importing wrangler's API (seed.mjs, local-bindings.mjs) installed its own SIGINT/SIGTERM handlers in
// this process, which exit at once: this process would end before wrangler dev (orphaning it when the
// signal was sent to this process alone) and with 0 whatever wrangler's exit code. Replaced by ours:
// pass the signal on, exit when wrangler does, with its code.
process.removeAllListeners("SIGINT");
process.removeAllListeners("SIGTERM");
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));

let ready = false;
let partial = "";
/** @type {NodeJS.Timeout | undefined} */
let flushPartial;
dev.stdout.setEncoding("utf8");
dev.stdout.on("data", (/** @type {string} */ chunk) => {
  clearTimeout(flushPartial);
  const lines = (partial + chunk).split(/(?<=\n)/);
  partial = lines.at(-1)?.endsWith("\n") ? "" : (lines.pop() ?? "");
  for (const line of lines) passOn(line);
  // A line without its end yet (a prompt) is shown if nothing follows soon.
  if (partial) {
    flushPartial = setTimeout(() => {
      const line = partial;
      partial = "";
      passOn(line);
    }, 100);
  }
});

/** Width of wrangler's banner once its update notice is cut, for the rule under it. */
let bannerWidth = 0;

/** @param {string} line as wrangler wrote it, colours included */
function passOn(line) {
  // The pinned wrangler is the last that runs on Node 20 (README): its update notice is noise here,
  // and the rule under the banner is made as wide as what is left.
  let out = line.replace(/ \(update available [^)]*\)/, "");
  if (out !== line) bannerWidth = stripVTControlCharacters(out).replace(/\r?\n$/, "").length;
  else if (bannerWidth > 0 && /^─+\s*$/.test(stripVTControlCharacters(line))) {
    out = line.replace(/─+/, "─".repeat(bannerWidth));
    bannerWidth = 0;
  }
  process.stdout.write(out);
  if (!ready && /Ready on https?:\/\//.test(stripVTControlCharacters(line))) {
    ready = true;
    process.stdout.write(summary());
  }
}

dev.on("exit", (code, signal) => {
  // What wrangler wrote last, then its exit code (a signal it did not handle counts as a failure).
  const done = () => {
    if (partial) process.stdout.write(partial);
    process.exit(code ?? (signal === "SIGINT" || signal === "SIGTERM" ? 0 : 1));
  };
  if (dev.stdout.readableEnded) done();
  else {
    dev.stdout.once("end", done);
    setTimeout(done, 1000).unref();
  }
});

function summary() {
  // A server listening on every address is reached on loopback.
  const reach = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${reach.includes(":") ? `[${reach}]` : reach}:${port}`;
  return `
Avatar API ready on ${url}   (API reference: ${url}/docs)

Local API keys (seed data, local only):
  org_demo   enterprise, 100000/min   av_test_demo00000000000000000000000000000000
  org_free   free, 10/min             av_test_free00000000000000000000000000000000
  org_other  pro, 60/min              av_test_other0000000000000000000000000000000

  curl -H 'Authorization: Bearer av_test_demo00000000000000000000000000000000' ${url}/v1/avatars

Key management (a user JWT for /v1/api-keys):  npm run token -- --org org_demo
Debugger: 127.0.0.1:${inspector} (chrome://inspect).  Stop: Ctrl-C
`;
}
