import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

/**
 * Query strings are checked before their values are: a parameter given twice is ambiguous
 * (`parameter.invalid`), and on a route that declares no parameters any parameter is unknown
 * (`parameter.unknown`). Routes with parameters leave unknown names to their strict zod schema.
 */
export const strictQuery = (declaresParameters: boolean) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const url = c.req.url;
    const start = url.indexOf("?");
    if (start !== -1 && start < url.length - 1) {
      const seen = new Set<string>();
      for (const [name] of new URLSearchParams(url.slice(start + 1))) {
        if (!declaresParameters) throw new ApiError("parameter.unknown", `Unknown parameter '${name}'.`, { param: name });
        if (seen.has(name)) throw new ApiError("parameter.invalid", `'${name}' was given more than once; send it once.`, { param: name });
        seen.add(name);
      }
    }
    await next();
  });
