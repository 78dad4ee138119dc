// @ts-check
// Gzips the files /docs serves (Swagger UI's, from the pinned swagger-ui-dist package, and our own
// initialiser, src/routes/docs/swagger-init.js) into dist/docs/,
// where the Worker imports them as binary data modules (wrangler.toml [[rules]]). Run by `npm ci`
// (postinstall) and again by every command that starts, tests or builds the Worker, so /docs works
// with no network at all.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = `${root}dist/docs/`;
const FILES = [
  "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
  "node_modules/swagger-ui-dist/swagger-ui.css",
  "node_modules/swagger-ui-dist/favicon-32x32.png",
  "src/routes/docs/swagger-init.js",
];

export function copyDocsAssets() {
  mkdirSync(out, { recursive: true });
  for (const file of FILES) {
    const target = `${out}${file.split("/").at(-1)}.gz`;
    const gzipped = gzipSync(readFileSync(`${root}${file}`), { level: 9 });
    // Unchanged files are left alone: a rewrite would make a running `wrangler dev` reload.
    if (!existsSync(target) || !readFileSync(target).equals(gzipped)) writeFileSync(target, gzipped);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();
