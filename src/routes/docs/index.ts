import type { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import pkg from "../../../package.json";
import type { AppEnv } from "../../env";
import { ipRateLimit } from "../../middleware/rate-limit";
import { SECURITY_SCHEMES } from "../../lib/openapi";

const OPENAPI_PATH = "/v1/openapi.json";

const DESCRIPTION = `Edge API for real-time talking avatars.

Every response carries \`X-Request-Id\`; every error body is the \`ApiErrorEnvelope\`. Responses to
authenticated requests carry \`X-RateLimit-Limit\`, \`X-RateLimit-Remaining\`, \`X-RateLimit-Reset\` (Unix
seconds) and the IETF draft \`RateLimit-Policy\` / \`RateLimit\` headers.

Rate limits: per organisation per minute (free 10, creator 30, pro 60, enterprise custom); public
endpoints per client address; \`/health\` is not limited. Over the limit: \`429 rate_limit.exceeded\`
with \`Retry-After\`.

Additions to the written contract: a request body sent with a Content-Type other than JSON is
\`400 request.unsupported_media_type\`; an unreachable identity-provider JWKS is
\`503 jwt.jwks_unavailable\`; model files are downloaded from \`/v1/avatars/{avatar_id}/model/file\`
with the signed URL that \`/model\` returns.`;

/** `GET /v1/openapi.json` (generated from the route schemas) and `GET /docs` (Swagger UI over it). */
export const registerDocs = (app: OpenAPIHono<AppEnv>) => {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  app.openAPIRegistry.registerPath({
    method: "get",
    path: OPENAPI_PATH,
    tags: ["Docs"],
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "The document." } },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/docs",
    tags: ["Docs"],
    summary: "Interactive API reference (Swagger UI)",
    responses: { 200: { description: "An HTML page." } },
  });

  // Generating the document walks every schema; once per isolate (and origin) is enough.
  let cached: { origin: string; doc: unknown } | undefined;
  app.get(OPENAPI_PATH, ipRateLimit, (c) => {
    const origin = new URL(c.req.url).origin;
    if (cached?.origin !== origin) {
      const doc = app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: { title: "Avatar API", version: pkg.version, description: DESCRIPTION },
        servers: [{ url: origin }],
      });
      cached = { origin, doc };
    }
    return c.json(cached.doc);
  });
  app.get("/docs", ipRateLimit, swaggerUI({ url: OPENAPI_PATH, title: "Avatar API reference" }));
};
