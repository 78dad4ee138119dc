// @ts-check
// Builds the bundle exactly as `wrangler deploy` would ship it (minified: wrangler.toml sets
// minify = true) without uploading, then reports its gzipped size against the 225 KiB budget.
//
// The budget catches accidental growth (zod's locales once added 250 KiB of minified code); it was
// 200 KiB until tools and visemes (issues 20 and 21) took the code to 201.3 KiB with nothing left
// to cut that is not used (what was, zod's fromJSONSchema, is aliased out); 210 until custom avatar
// uploads (issue 24: five routes, the processing job, the PLY/.splat/GLB/image checks and a PNG
// encoder, +10 KiB) found it full after usage and quotas. Data stays out of the
// code: the docs page's assets (gzipped data modules) and the prose and tables the Worker reads
// (text modules: the OpenAPI description, the events' documentation, the viseme table), each
// reported beside the budget.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { copyDocsAssets } from "./docs-assets.mjs";

export const BUDGET_KIB = 225;
const root = fileURLToPath(new URL("../../", import.meta.url));

export function measureBundle() {
  copyDocsAssets(); // wrangler refuses to build without the [assets] directory
  const outdir = mkdtempSync(join(tmpdir(), "avatar-api-bundle-"));
  const run = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "--metafile", join(outdir, "meta.json")], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (run.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${run.stdout}\n${run.stderr}`);
  const files = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  const bytes = files.reduce((sum, f) => sum + statSync(join(outdir, f)).size, 0);
  const gzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(outdir, f)), { level: 9 }).length, 0);
  // Binary data modules (the gzipped Swagger UI of /docs) are already compressed and never parsed as
  // code: reported beside the budget, not in it.
  const dataKib =
    readdirSync(outdir)
      .filter((f) => f.endsWith(".gz"))
      .reduce((sum, f) => sum + statSync(join(outdir, f)).size, 0) / 1024;
  checkLocaleAlias(JSON.parse(readFileSync(join(outdir, "meta.json"), "utf8")));
  const wranglerLine = run.stdout.split("\n").find((l) => l.includes("Total Upload")) ?? "";
  const textKib =
    readdirSync(outdir)
      .filter((f) => (f.endsWith(".md") && f !== "README.md") || f.endsWith(".txt"))
      .reduce((sum, f) => sum + gzipSync(readFileSync(join(outdir, f)), { level: 9 }).length, 0) / 1024;
  return { kib: bytes / 1024, gzipKib: gzip / 1024, dataKib, textKib, wranglerLine: wranglerLine.trim(), script: join(outdir, "index.js") };
}

/**
 * wrangler.toml aliases the import path "../locales/index.js" to English only, and
 * "./from-json-schema.js" to a stub, for zod's sake. An alias on a relative path hits every file that
 * imports it: fail the build if anything but zod's entries does, or if a locale other than English
 * still reaches the bundle.
 * @param {{ inputs: Record<string, { imports?: { original?: string }[] }> }} meta
 */
function checkLocaleAlias(meta) {
  const importers = Object.entries(meta.inputs)
    .filter(([, input]) => (input.imports ?? []).some((i) => i.original === "../locales/index.js"))
    .map(([file]) => file.replace(/^.*node_modules\//, ""))
    .sort();
  const expected = ["zod/v4/classic/external.js", "zod/v4/core/index.js"];
  if (JSON.stringify(importers) !== JSON.stringify(expected)) {
    throw new Error(`the "../locales/index.js" alias in wrangler.toml now also hits: ${importers.join(", ")}`);
  }
  const fromJsonSchema = Object.entries(meta.inputs)
    .filter(([, input]) => (input.imports ?? []).some((i) => i.original === "./from-json-schema.js"))
    .map(([file]) => file.replace(/^.*node_modules\//, ""));
  if (JSON.stringify(fromJsonSchema) !== JSON.stringify(["zod/v4/classic/external.js"])) {
    throw new Error(`the "./from-json-schema.js" alias in wrangler.toml now also hits: ${fromJsonSchema.join(", ")}`);
  }
  const locales = Object.keys(meta.inputs).filter((f) => /zod\/v4\/locales\/(?!en\.js$)/.test(f));
  if (locales.length > 0) throw new Error(`zod locales still bundled: ${locales.join(", ")}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { kib, gzipKib, dataKib, textKib, wranglerLine } = measureBundle();
  console.log(
    `code: ${kib.toFixed(1)} KiB, gzipped ${gzipKib.toFixed(1)} KiB (budget ${BUDGET_KIB} KiB); data modules (gzipped docs assets): ${dataKib.toFixed(1)} KiB; text modules (docs prose, viseme table): ${textKib.toFixed(1)} KiB gzipped`,
  );
  if (wranglerLine) console.log(`wrangler: ${wranglerLine}`);
  if (gzipKib > BUDGET_KIB) {
    console.error(`bundle over budget by ${(gzipKib - BUDGET_KIB).toFixed(1)} KiB`);
    process.exit(1);
  }
}
