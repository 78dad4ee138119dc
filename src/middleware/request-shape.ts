import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError, quote } from "../lib/errors";
import { isJsonType, parseMediaType } from "../lib/media-type";
import { hasBody } from "./body";

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** In `bodyTypes`: the route takes a body of any media type (an uploaded file). */
export const ANY_MEDIA_TYPE = "*/*";

/**
 * The shape of a request, checked after authentication like any other validation, before its
 * values are:
 * - a query parameter without a name (`?=x`) is unknown, and one given twice is ambiguous
 *   (`parameter.invalid`); on a route that declares no parameters any parameter is unknown
 *   (`parameter.unknown`; routes with parameters leave unknown names to their strict zod schema);
 * - one media-type rule for every route: a body on POST, PUT, PATCH or DELETE is JSON (or a type the
 *   route declares) whether or not the route reads it, so a body is never silently ignored. The
 *   header is read as RFC 9110 defines it; a JSON body is UTF-8 (RFC 8259), and bytes that are not
 *   are refused rather than read with replacement characters and stored.
 */
export const requestShape = (opts: { declaresQuery: boolean; bodyTypes: readonly string[] }) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const url = c.req.url;
    const start = url.indexOf("?");
    if (start !== -1 && start < url.length - 1) {
      const seen = new Set<string>();
      for (const [name] of new URLSearchParams(url.slice(start + 1))) {
        if (name === "") throw new ApiError("parameter.unknown", "A query parameter has no name (as in '?=value'); name it or leave it out.");
        if (!opts.declaresQuery) throw new ApiError("parameter.unknown", `Unknown parameter ${quote(name)}.`, { param: name });
        if (seen.has(name)) throw new ApiError("parameter.invalid", `${quote(name)} was given more than once; send it once.`, { param: name });
        seen.add(name);
      }
    }
    if (hasBody(c.req.raw)) await checkBody(c, opts.bodyTypes);
    await next();
  });

async function checkBody(c: Context<AppEnv>, bodyTypes: readonly string[]): Promise<void> {
  if (bodyTypes.includes(ANY_MEDIA_TYPE)) return;
  const header = c.req.header("Content-Type");
  const media = header === undefined ? undefined : parseMediaType(header);
  const essence = media?.essence ?? "";
  const json = isJsonType(essence);
  if (!(bodyTypes.includes(essence) || (json && bodyTypes.includes("application/json")))) {
    const sent = header === undefined || header.trim() === "" ? "" : `, not ${quote(header.trim())}`;
    throw new ApiError("request.unsupported_media_type", `Send the body as ${bodyTypes.map((t) => `'Content-Type: ${t}'`).join(" or ")}${sent}.`);
  }
  if (!json || !media) return;
  const charset = media.params.get("charset")?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new ApiError("request.unsupported_media_type", `JSON bodies are UTF-8; send 'charset=utf-8' or no charset, not ${quote(charset)}.`);
  }
  // The request validator downstream matches Content-Type with a narrower pattern than RFC 9110's
  // grammar (no space before ';', for one), so it is handed the canonical spelling of what was sent.
  const canonical = `${essence}; charset=utf-8`;
  if (header !== canonical && !/^application\/json(; ?charset=utf-8)?$/i.test(header ?? "")) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("Content-Type", canonical);
    c.req.raw = new Request(c.req.raw, { headers });
  }
  try {
    UTF8.decode(await c.req.arrayBuffer());
  } catch {
    throw new ApiError("request.invalid_json", "The request body is not valid UTF-8, which JSON must be.");
  }
}
