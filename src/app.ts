import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { allowedMethods } from "./lib/allowed-methods";
import { ApiError, quote, retryHeader } from "./lib/errors";
import { createLogger } from "./lib/logger";
import { validationHook } from "./lib/validation";
import { GLOBAL_CODES } from "./middleware/access";
import { bodyLimitFor } from "./middleware/body";
import { requestContext } from "./middleware/context";
import { corsFor } from "./middleware/cors";
import { requestId } from "./middleware/request-id";
import { RouteTable } from "./middleware/route-table";
import { registerAi } from "./routes/ai";
import { registerApiKeys } from "./routes/api-keys";
import { registerAvatars } from "./routes/avatars";
import { registerConversations } from "./routes/conversations";
import { registerDocs } from "./routes/docs";
import { registerEvents } from "./routes/events";
import { registerHealth } from "./routes/health";
import { mountedRoutes } from "./routes/mounted-routes";
import { registerPersonas } from "./routes/personas";
import { registerPlayground } from "./routes/playground";
import { registerStt } from "./routes/stt";
import { registerTts } from "./routes/tts";
import { registerUsage } from "./routes/usage";
import { registerWebhookEndpoints } from "./routes/webhook-endpoints";

/** Hono's own 4xx (body parsing in the validators) mapped onto the contract's codes. */
function fromHttpException(err: HTTPException): ApiError | undefined {
  if (err.status === 415) return new ApiError("request.unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.");
  if (err.status === 400) return new ApiError("request.invalid_json", "The request body is not valid JSON.");
  return undefined;
}

/** Every error response of the API is rendered here: the envelope, the error's headers and `X-Should-Retry`. */
const respond = (c: Context<AppEnv>, e: ApiError) => c.json(e.body(c.get("requestId")), e.status, { ...e.headers, ...retryHeader(e.code) });

const fallbackLog = createLogger();

/**
 * Tests only (`STRICT_ERROR_CODES=on`): an error whose code its route did not declare is itself a
 * defect, answered 500 so the test that provoked it fails and the OpenAPI document cannot drift.
 * A route mounted without a definition, like the global middleware, declared only the global codes.
 */
function undeclared(c: Context<AppEnv>, e: ApiError, routes: RouteTable): boolean {
  if (!c.get("config")?.strictErrorCodes) return false;
  return !routes.mountedAs(c.req.method, c.req.routePath).codes.has(e.code) && !GLOBAL_CODES.includes(e.code);
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // What this app mounts, below or later (tests add routes): each route's access kind and codes
  // come from its definition, never from which modules happen to be imported.
  const routes = new RouteTable(() => mountedRoutes(app));
  const cors = corsFor(routes);

  // Order matters: the request id decorates everything below it; settings before anything reads
  // them; CORS answers preflights before bodies, authentication and limits are looked at; an
  // oversized body is refused before anyone authenticates.
  app.use(requestId(cors));
  app.use(requestContext);
  app.use(cors.preflight);
  app.use(bodyLimitFor(routes));

  registerHealth(app);
  registerDocs(app);
  registerPlayground(app);
  registerAvatars(app);
  registerApiKeys(app);
  registerPersonas(app);
  registerAi(app);
  registerTts(app);
  registerStt(app);
  registerConversations(app);
  registerWebhookEndpoints(app);
  registerEvents(app);
  registerUsage(app);

  const methodsFor = allowedMethods(app.routes);
  app.notFound((c) => {
    const allow = methodsFor(c.req.path);
    if (allow.length > 0) {
      return respond(
        c,
        new ApiError("method.not_allowed", `${c.req.method} is not allowed on ${quote(c.req.path)}; use ${allow.join(", ")}.`, {
          headers: { Allow: allow.join(", ") },
        }),
      );
    }
    return respond(c, new ApiError("route.not_found", `No route ${c.req.method} ${quote(c.req.path)}.`));
  });

  app.onError((err, c) => {
    const log = c.get("log") ?? fallbackLog;
    const apiError = err instanceof ApiError ? err : err instanceof HTTPException ? fromHttpException(err) : undefined;
    if (apiError && undeclared(c, apiError, routes)) {
      log.error("undeclared error code", { code: apiError.code, route: `${c.req.method} ${c.req.routePath}` });
      return respond(c, new ApiError("internal", `Route ${c.req.method} ${c.req.routePath} answered the undeclared code ${apiError.code}.`));
    }
    if (!apiError || apiError.type === "internal") {
      // The only place internals are written down: the log, keyed by the request id the client sees.
      log.error("uncaught error", { error: err });
    }
    return respond(c, apiError ?? new ApiError("internal", "Internal error. Quote the request id when you contact support."));
  });

  return app;
}
