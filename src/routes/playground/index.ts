import { type OpenAPIHono, z } from "@hono/zod-openapi";
import worklet from "../../../dist/docs/mic-worklet.js.gz";
import css from "../../../dist/docs/playground.css.gz";
import html from "../../../dist/docs/playground.html.gz";
import script from "../../../dist/docs/playground.js.gz";
import type { AppEnv } from "../../env";
import { ApiError, quote } from "../../lib/errors";
import { cacheControl, header } from "../../lib/openapi";
import { defineRoute } from "../define-route";

/**
 * `GET /playground`: try an avatar in a browser, built on the API's TypeScript client (src/client,
 * src/playground). Its files are made at install (src/cli/docs-assets.mjs) and stored gzipped as
 * data modules, like /docs's. The page's CSP allows no inline script, scripts and the microphone
 * worklet from this origin only, and connections (REST and the conversation's socket) to it only.
 */

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Avatar previews live on the customer's or our CDN (preview_img_url): images from any https: origin.
  "img-src 'self' data: https:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
/** Asset URLs carry a fingerprint of the files (`?v=`), so a day of caching is safe. */
const ASSET_CACHE_CONTROL = "public, max-age=86400";

const FILES: Record<string, { body: ArrayBuffer; type: string }> = {
  "playground.js": { body: script, type: "text/javascript; charset=utf-8" },
  "playground.css": { body: css, type: "text/css; charset=utf-8" },
  "mic-worklet.js": { body: worklet, type: "text/javascript; charset=utf-8" },
};

const tags = ["Docs"];

const pageRoute = defineRoute("public", {
  method: "get",
  path: "/playground",
  operationId: "getPlayground",
  tags,
  summary: "Try an avatar in the browser",
  description:
    "Paste an API key (kept in the tab's sessionStorage), pick an avatar, persona and voice, start a conversation and talk by text or microphone. Served by this API under a Content-Security-Policy that allows no inline script.",
  responses: { 200: { description: "An HTML page.", content: { "text/html": { schema: z.string() } } } },
});

const assetRoute = defineRoute("public", {
  method: "get",
  path: "/playground/assets/{file}",
  operationId: "getPlaygroundAsset",
  tags,
  summary: "A file of the playground page",
  request: {
    params: z.object({ file: z.string().openapi({ param: { name: "file", in: "path" }, example: "playground.js" }) }),
    query: z.strictObject({ v: z.string().optional().openapi({ description: "Cache buster: a fingerprint of the page's files." }) }),
  },
  responses: {
    200: {
      description: "The file, gzip-encoded.",
      headers: { ...cacheControl(ASSET_CACHE_CONTROL), "Content-Encoding": header("`gzip`.") },
      content: Object.fromEntries(
        [...new Set(Object.values(FILES).map((f) => f.type))].map((type) => [type, { schema: { type: "string" as const, format: "binary" } }]),
      ),
    },
  },
  errors: ["route.not_found"],
});

/** Stored compressed: workerd sends the bytes as they are instead of encoding them again. */
const gzipped = (body: ArrayBuffer, headers: Record<string, string>) =>
  new Response(body, { headers: { ...headers, "Content-Encoding": "gzip" }, encodeBody: "manual" });

export const registerPlayground = (app: OpenAPIHono<AppEnv>) => {
  app.openapi(pageRoute, () => gzipped(html, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache" }));
  app.openapi(assetRoute, (c) => {
    const { file } = c.req.valid("param");
    const found = Object.hasOwn(FILES, file) ? FILES[file] : undefined;
    if (!found) throw new ApiError("route.not_found", `No file ${quote(c.req.path)}.`);
    return gzipped(found.body, { "Content-Type": found.type, "Cache-Control": ASSET_CACHE_CONTROL });
  });
};
