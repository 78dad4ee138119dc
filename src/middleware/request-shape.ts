import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { hasBody } from "./body";

const mediaType = (header: string | undefined) => header?.split(";")[0]?.trim().toLowerCase() ?? "";
const isJson = (type: string) => type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));

/**
 * The shape of a request, checked after authentication like any other validation, before its
 * values are:
 * - a query parameter given twice is ambiguous (`parameter.invalid`); on a route that declares no
 *   parameters any parameter is unknown (`parameter.unknown`; routes with parameters leave unknown
 *   names to their strict zod schema);
 * - one media-type rule for every route: a body on POST, PUT, PATCH or DELETE is JSON (or a type the
 *   route declares) whether or not the route reads it, so a body is never silently ignored.
 */
export const requestShape = (opts: { declaresQuery: boolean; bodyTypes: readonly string[] }) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const url = c.req.url;
    const start = url.indexOf("?");
    if (start !== -1 && start < url.length - 1) {
      const seen = new Set<string>();
      for (const [name] of new URLSearchParams(url.slice(start + 1))) {
        if (!opts.declaresQuery) throw new ApiError("parameter.unknown", `Unknown parameter '${name}'.`, { param: name });
        if (seen.has(name)) throw new ApiError("parameter.invalid", `'${name}' was given more than once; send it once.`, { param: name });
        seen.add(name);
      }
    }
    if (hasBody(c.req.raw)) {
      const type = mediaType(c.req.header("Content-Type"));
      if (!(opts.bodyTypes.includes(type) || (isJson(type) && opts.bodyTypes.includes("application/json")))) {
        throw new ApiError(
          "request.unsupported_media_type",
          `Send the body as ${opts.bodyTypes.map((t) => `'Content-Type: ${t}'`).join(" or ")}${type ? `, not '${type}'` : ""}.`,
        );
      }
    }
    await next();
  });
