import favicon from "../../../dist/docs/favicon-32x32.png.gz";
import bundle from "../../../dist/docs/swagger-ui-bundle.js.gz";
import styles from "../../../dist/docs/swagger-ui.css.gz";
import swaggerUi from "../../../node_modules/swagger-ui-dist/package.json";

/** The pinned Swagger UI version: part of every asset URL, so a new version is a new URL. */
export const SWAGGER_UI_VERSION = swaggerUi.version;

// Starts Swagger UI over the document named by the page. A file of its own (not an inline script),
// so the page's Content-Security-Policy can forbid inline scripts altogether.
const INIT = `const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true });
`;

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
  "swagger-init.js": { body: INIT, type: "text/javascript; charset=utf-8", gzip: false },
};
