// @ts-check
// Gzips the files /docs serves (Swagger UI's, from the pinned swagger-ui-dist package, and our own
// initialiser, src/routes/docs/swagger-init.js) and those /playground serves (its page, style, the
// microphone worklet, and its script bundled with the TypeScript client by esbuild) into dist/docs/,
// where the Worker imports them as binary data modules (wrangler.toml [[rules]]). Run by `npm ci`
// (postinstall) and again by every command that starts, tests or builds the Worker, so /docs works
// with no network at all.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { buildSync } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = `${root}dist/docs/`;
const FILES = [
  "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
  "node_modules/swagger-ui-dist/swagger-ui.css",
  "node_modules/swagger-ui-dist/favicon-32x32.png",
  "src/routes/docs/swagger-init.js",
];

const PLAYGROUND_FILES = ["src/playground/playground.html", "src/playground/playground.css", "src/client/mic-worklet.js"];

/**
 * The client for browsers and Node as one ES module (dist/client/avatar-client.js, what the README's
 * examples import), and the playground's script with the client inside it. Minified, no source maps:
 * they ship inside the Worker.
 * @returns {{ client: Uint8Array, playground: Uint8Array }}
 */
export function buildClient() {
  const common = /** @type {const} */ ({ bundle: true, format: "esm", target: "es2022", minify: true, write: false, legalComments: "none" });
  const client = buildSync({ ...common, entryPoints: [`${root}src/client/index.ts`], platform: "neutral" }).outputFiles[0]?.contents;
  const playground = buildSync({ ...common, entryPoints: [`${root}src/playground/app.js`], platform: "browser" }).outputFiles[0]?.contents;
  if (!client || !playground) throw new Error("esbuild produced nothing");
  return { client, playground };
}

/** Writes `bytes` gzipped to `target` unless it holds them already (a rewrite would make a running `wrangler dev` reload). */
function writeGzipped(/** @type {string} */ target, /** @type {Uint8Array} */ bytes) {
  const gzipped = gzipSync(bytes, { level: 9 });
  if (!existsSync(target) || !readFileSync(target).equals(gzipped)) writeFileSync(target, gzipped);
}

export function copyDocsAssets() {
  mkdirSync(out, { recursive: true });
  const { client, playground } = buildClient();
  writeGzipped(`${out}playground.js.gz`, playground);
  mkdirSync(`${root}dist/client`, { recursive: true });
  const clientFile = `${root}dist/client/avatar-client.js`;
  if (!existsSync(clientFile) || !readFileSync(clientFile).equals(Buffer.from(client))) writeFileSync(clientFile, client);
  // The page names its files with a fingerprint of them all, so a changed script is a new URL (they are cached for a day).
  const files = PLAYGROUND_FILES.map((f) => readFileSync(`${root}${f}`));
  const version = createHash("sha256").update(playground).update(Buffer.concat(files)).digest("hex").slice(0, 12);
  PLAYGROUND_FILES.forEach((file, i) => {
    const bytes = file.endsWith(".html") ? Buffer.from(String(files[i]).replaceAll("VERSION", version)) : (files[i] ?? Buffer.alloc(0));
    writeGzipped(`${out}${file.split("/").at(-1)}.gz`, bytes);
  });
  for (const file of FILES) {
    const target = `${out}${file.split("/").at(-1)}.gz`;
    const gzipped = gzipSync(readFileSync(`${root}${file}`), { level: 9 });
    // Unchanged files are left alone: a rewrite would make a running `wrangler dev` reload.
    if (!existsSync(target) || !readFileSync(target).equals(gzipped)) writeFileSync(target, gzipped);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();
