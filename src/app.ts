import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { allowedMethods } from "./lib/allowed-methods";
import { ApiError } from "./lib/errors";
import { validationHook } from "./lib/validation";
import { db } from "./middleware/db";
import { requestId } from "./middleware/request-id";
import { registerApiKeys } from "./routes/api-keys";
import { registerAvatars } from "./routes/avatars";
import { registerDocs } from "./routes/docs";
import { registerHealth } from "./routes/health";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Hono's own 4xx (body parsing in the validators) mapped onto the contract's codes. */
function fromHttpException(err: HTTPException): ApiError {
  if (err.status === 415) {
    return new ApiError("invalid_request", "request.unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.");
  }
  if (err.status === 400) return new ApiError("invalid_request", "request.invalid_json", "The request body is not valid JSON.");
  return new ApiError("internal", "internal", "Internal error.");
}

const respond = (c: Context<AppEnv>, e: ApiError) => c.json(e.body(c.var.requestId), e.status, e.headers);

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use(requestId);
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError("invalid_request", "request.too_large", "The request body exceeds 1 MiB.", { status: 413 });
      },
    }),
  );
  app.use(db);

  registerHealth(app);
  registerDocs(app);
  registerAvatars(app);
  registerApiKeys(app);

  const methodsFor = allowedMethods(app.routes);
  app.notFound((c) => {
    const allow = methodsFor(c.req.path);
    if (allow.length > 0) {
      return respond(c, new ApiError("invalid_request", "method.not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(", ")}.`, {
        status: 405,
        headers: { Allow: allow.join(", ") },
      }));
    }
    return respond(c, new ApiError("not_found", "route.not_found", `No route ${c.req.method} ${c.req.path}.`));
  });

  app.onError((err, c) => {
    const apiError = err instanceof ApiError ? err : err instanceof HTTPException ? fromHttpException(err) : null;
    if (!apiError || apiError.type === "internal") {
      // The only place internals are written down: the log, keyed by the request id the client sees.
      console.error(JSON.stringify({ level: "error", request_id: c.var.requestId, error: err.name, message: err.message, stack: err.stack }));
    }
    return respond(c, apiError ?? new ApiError("internal", "internal", "Internal error. Quote the request id when you contact support."));
  });

  return app;
}
