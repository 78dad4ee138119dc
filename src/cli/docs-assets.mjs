// @ts-check
// Gzips the Swagger UI files /docs serves (from the pinned swagger-ui-dist package) into dist/docs/,
// where the Worker imports them as binary data modules (wrangler.toml [[rules]]). Run by `npm ci`
// (postinstall) and again by every command that starts, tests or builds the Worker, so /docs works
// with no network at all.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = `${root}dist/docs/`;
const FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

export function copyDocsAssets() {
  mkdirSync(out, { recursive: true });
  for (const name of FILES) {
    const target = `${out}${name}.gz`;
    const gzipped = gzipSync(readFileSync(`${root}node_modules/swagger-ui-dist/${name}`), { level: 9 });
    // Unchanged files are left alone: a rewrite would make a running `wrangler dev` reload.
    if (!existsSync(target) || !readFileSync(target).equals(gzipped)) writeFileSync(target, gzipped);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();
