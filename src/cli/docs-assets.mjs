// @ts-check
// Copies the files /docs serves into dist/public (wrangler.toml [assets]): Swagger UI from the
// pinned swagger-ui-dist package, and our own initialiser. Run by `npm ci` (postinstall) and again
// by every command that starts or builds the Worker, so /docs works with no network at all.
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = `${root}dist/public/docs/assets/`;
const FILES = [
  [`${root}node_modules/swagger-ui-dist/swagger-ui-bundle.js`, "swagger-ui-bundle.js"],
  [`${root}node_modules/swagger-ui-dist/swagger-ui.css`, "swagger-ui.css"],
  [`${root}node_modules/swagger-ui-dist/favicon-32x32.png`, "favicon-32x32.png"],
  [`${root}src/routes/docs/swagger-init.js`, "swagger-init.js"],
];

export function copyDocsAssets() {
  mkdirSync(out, { recursive: true });
  for (const [from, name] of FILES) copyFileSync(from, `${out}${name}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();
