import favicon from "../../../dist/docs/favicon-32x32.png.gz";
// Starts Swagger UI over the document named by the page, with the plugin that plays and downloads
// binary answers (swagger-init.js). A file of its own (not an inline script), so the page's
// Content-Security-Policy can forbid inline scripts altogether; browser code, so an asset like
// Swagger UI's, not a string in the Worker's code.
import init from "../../../dist/docs/swagger-init.js.gz";
import styles from "../../../dist/docs/swagger-ui.css.gz";
import bundle from "../../../dist/docs/swagger-ui-bundle.js.gz";
import swaggerUi from "../../../node_modules/swagger-ui-dist/package.json";

/** FNV-1a, 32 bits: a short, stable fingerprint of some bytes. */
const fingerprint = (bytes: ArrayBuffer) => {
  const view = new Uint8Array(bytes);
  let hash = 0x811c9dc5;
  for (let i = 0; i < view.length; i++) hash = Math.imul(hash ^ (view[i] as number), 0x01000193) >>> 0;
  return hash.toString(36);
};

/**
 * Part of every asset URL (the assets are cached for a day): the pinned Swagger UI version and a
 * fingerprint of our own initialiser, so a new Swagger UI or a changed plugin is a new URL.
 */
export const ASSET_VERSION = `${swaggerUi.version}-${fingerprint(init)}`;

export interface DocsAsset {
  body: ArrayBuffer | string;
  type: string;
  /** Stored gzip-compressed (sent as is, with Content-Encoding: gzip). */
  gzip: boolean;
}

/** The files of /docs, by name: Swagger UI's own (gzipped at install, see src/cli/docs-assets.mjs) and its initialiser. */
export const DOCS_ASSETS: Record<string, DocsAsset> = {
  "swagger-ui-bundle.js": { body: bundle, type: "text/javascript; charset=utf-8", gzip: true },
  "swagger-ui.css": { body: styles, type: "text/css; charset=utf-8", gzip: true },
  "favicon-32x32.png": { body: favicon, type: "image/png", gzip: true },
  "swagger-init.js": { body: init, type: "text/javascript; charset=utf-8", gzip: true },
};
