import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { ApiError, quote } from "../../lib/errors";
import { cacheControl, header } from "../../lib/openapi";
import { defineRoute } from "../define-route";
import { ASSET_VERSION, DOCS_ASSETS } from "./assets";
import { buildDocument, registerDocumentComponents } from "./document";

const OPENAPI_PATH = "/v1/openapi.json";
const ASSETS = "/docs/assets";
/** Asset URLs change with their content (ASSET_VERSION), so a day of caching is safe. */
const ASSET_CACHE_CONTROL = "public, max-age=86400";
const asset = (name: string) => `${ASSETS}/${name}?v=${ASSET_VERSION}`;

// Swagger UI styles its widgets inline, hence 'unsafe-inline' for styles only; every script is a
// file served by this Worker, so the page works offline and nothing inline can run. Media only from
// blob: URLs: "Try it out" plays the audio it already fetched (assets.ts, swagger-init.js).
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "media-src blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Avatar API reference</title>
    <link rel="icon" href="${asset("favicon-32x32.png")}" />
    <link rel="stylesheet" href="${asset("swagger-ui.css")}" />
  </head>
  <body>
    <div id="swagger-ui" data-url="${OPENAPI_PATH}"></div>
    <script src="${asset("swagger-ui-bundle.js")}"></script>
    <script src="${asset("swagger-init.js")}"></script>
  </body>
</html>
`;

const tags = ["Docs"];

const openapiRoute = defineRoute("public", {
  method: "get",
  path: OPENAPI_PATH,
  operationId: "getOpenApiDocument",
  tags,
  summary: "This OpenAPI 3.1 document",
  responses: { 200: { description: "The document.", content: { "application/json": { schema: z.object({}).passthrough() } } } },
});

const docsRoute = defineRoute("public", {
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  tags,
  summary: "Interactive API reference (Swagger UI)",
  description: "Served entirely by this API (no CDN), under a Content-Security-Policy that allows no inline script.",
  responses: { 200: { description: "An HTML page.", content: { "text/html": { schema: z.string() } } } },
});

const assetRoute = defineRoute("public", {
  method: "get",
  path: `${ASSETS}/{file}`,
  operationId: "getDocsAsset",
  tags,
  summary: "A file of the API reference page",
  request: {
    params: z.object({ file: z.string().openapi({ param: { name: "file", in: "path" }, example: "swagger-ui.css" }) }),
    query: z.strictObject({
      v: z.string().optional().openapi({ description: "Cache buster: the Swagger UI version and a fingerprint of this API's own script." }),
    }),
  },
  responses: {
    200: {
      description: "The file, gzip-encoded where that helps.",
      headers: { ...cacheControl(ASSET_CACHE_CONTROL), "Content-Encoding": header("`gzip` for the stored-compressed files.") },
      content: Object.fromEntries(
        [...new Set(Object.values(DOCS_ASSETS).map((a) => a.type))].map((type) => [type, { schema: { type: "string" as const, format: "binary" } }]),
      ),
    },
  },
  errors: ["route.not_found"],
});

/** `GET /v1/openapi.json` (generated from the route schemas) and `GET /docs` (Swagger UI over it). */
export const registerDocs = (app: OpenAPIHono<AppEnv>) => {
  registerDocumentComponents(app);

  // Generating the document walks every schema; once per isolate (and origin) is enough.
  let cached: { origin: string; doc: unknown } | undefined;
  app.openapi(openapiRoute, (c) => {
    const origin = new URL(c.req.url).origin;
    if (cached?.origin !== origin) cached = { origin, doc: buildDocument(app, origin) };
    return c.json(cached.doc as Record<string, never>, 200);
  });

  app.openapi(docsRoute, (c) => c.html(DOCS_HTML, 200, { "Content-Security-Policy": DOCS_CSP }));

  app.openapi(assetRoute, (c) => {
    const { file } = c.req.valid("param");
    const found = Object.hasOwn(DOCS_ASSETS, file) ? DOCS_ASSETS[file] : undefined;
    if (!found) throw new ApiError("route.not_found", `No file ${quote(c.req.path)}.`);
    return new Response(found.body, {
      headers: {
        "Content-Type": found.type,
        ...(found.gzip ? { "Content-Encoding": "gzip" } : {}),
        "Cache-Control": ASSET_CACHE_CONTROL,
      },
      // Stored compressed: workerd sends the bytes as they are instead of encoding them again.
      ...(found.gzip ? { encodeBody: "manual" as const } : {}),
    });
  });
};
