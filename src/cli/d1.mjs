// @ts-check
// The database of the operator commands (keys:create, orgs:set-tier): `wrangler d1 execute DB`, so
// the same SQL runs against the local D1 of `npm start` / `wrangler dev` and, with --remote, against
// production. Values reach the SQL only as literals from `sqlText`/`sqlInteger`, after the caller has
// validated them (org-rules.mjs).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./usage.mjs";

// Not seed.mjs's ROOT: that module loads wrangler's whole API, and a mistyped command should fail fast.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The options every operator command takes to choose its database. */
export const TARGET_OPTIONS = /** @type {const} */ ({
  remote: { type: "boolean", default: false },
  "persist-to": { type: "string" },
});

/**
 * @typedef {{ remote: boolean, persistTo?: string }} Target
 * @typedef {{ results: Record<string, unknown>[], success: boolean }} StatementResult
 */

/**
 * @param {{ remote?: boolean, "persist-to"?: string }} values parsed TARGET_OPTIONS
 * @returns {Target}
 */
export function targetFrom(values) {
  const remote = values.remote === true;
  const persistTo = values["persist-to"];
  if (remote && persistTo !== undefined) throw new UsageError("--persist-to is for the local database; leave it out with --remote");
  // Relative to where the command was typed, though wrangler runs from the project root.
  return persistTo === undefined ? { remote } : { remote, persistTo: resolve(persistTo) };
}

/** @param {Target} target */
export const describeTarget = (target) =>
  target.remote ? "the remote (production) database" : `the local database (${target.persistTo ?? ".wrangler/state"})`;

/**
 * A SQL string literal. SQLite has one escape inside '…': a doubled quote. NUL is refused (it would
 * end the string early in some layers); callers validate text before it gets here anyway.
 * @param {string} value
 */
export function sqlText(value) {
  if (value.includes("\u0000")) throw new Error("NUL in a SQL text value");
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A SQL integer literal, or NULL.
 * @param {number | null} value
 */
export function sqlInteger(value) {
  if (value === null) return "NULL";
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}

/**
 * Runs `statements` in one `wrangler d1 execute --command` (one request remotely, in order) and
 * answers each statement's result rows. On failure prints what wrangler said and exits with its code.
 * @param {Target} target
 * @param {string[]} statements
 * @returns {StatementResult[]}
 */
export function execute(target, statements) {
  const args = [
    "d1",
    "execute",
    "DB",
    "--config",
    `${ROOT}wrangler.toml`,
    target.remote ? "--remote" : "--local",
    "--json",
    "--command",
    statements.join(";\n"),
  ];
  if (target.persistTo !== undefined) args.push("--persist-to", target.persistTo);
  const run = spawnSync(`${ROOT}node_modules/.bin/wrangler`, args, {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    parsed = undefined;
  }
  if (run.status === 0 && Array.isArray(parsed)) return /** @type {StatementResult[]} */ (parsed);
  const error = /** @type {{ error?: { text?: string } } | undefined} */ (parsed)?.error?.text;
  console.error(`wrangler d1 execute failed on ${describeTarget(target)}${error ? `: ${error}` : ""}`);
  if (!error) console.error([run.stdout, run.stderr, run.error?.message].filter(Boolean).join("\n").trim());
  if (error && /no such table/.test(error)) {
    console.error(
      target.remote
        ? "The remote database has no tables yet: `npm run deploy` applies the migrations."
        : target.persistTo === undefined
          ? "The local database has no tables yet: `npm start` applies the migrations (or `npx wrangler d1 migrations apply DB --local`)."
          : `The database has no tables yet: \`npx wrangler d1 migrations apply DB --local --persist-to ${target.persistTo}\` applies the migrations.`,
    );
  }
  process.exit(run.status || 1);
}
