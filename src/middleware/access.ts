import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import type { ErrorCode } from "../lib/errors";
import { apiKeyAuth, authenticateApiKey } from "./api-key-auth";
import { clientSecretAuth } from "./client-secret-auth";
import { jwtAuth } from "./jwt-auth";
import { meterRequest } from "./meter-requests";
import { ipRateLimit, orgRateLimit } from "./rate-limit";
import { touchApiKey } from "./touch-api-key";

/**
 * Who may call a route, and therefore which middleware runs before its validators (authentication,
 * then the rate limit, so a rejected request does no other work, then bookkeeping: last use, the
 * `requests` meter), which error codes
 * it can answer and which origins CORS allows. Each route names its kind in its definition.
 * - `api_key`: a backend's API key.
 * - `client_secret`: an API key, or a conversation's client secret in `?token=` (browsers' WebSockets).
 * - `jwt`: a signed-in user's token (key management).
 * - `public`: anyone, limited per client address.
 * - `public_or_api_key`: anyone; with an API key the answer includes the org's own records, and the
 *   request counts against the org instead of the address.
 * - `unmetered`: liveness only; a probe answered 429 would look like an outage.
 */
export type Access = "api_key" | "client_secret" | "jwt" | "public" | "public_or_api_key" | "unmetered";

export interface AccessRule {
  middleware: MiddlewareHandler<AppEnv>[];
  /** OpenAPI security requirement (alternatives). */
  security: Record<string, string[]>[];
  /** The error codes this access kind can answer, whatever the route. */
  codes: ErrorCode[];
  /**
   * Whether CORS allows any origin instead of the configured ones: anyone may call these routes
   * anyway, and a browser page must be able to read what they answer.
   */
  anyOrigin: boolean;
}

const API_KEY_CODES: ErrorCode[] = [
  "api_key.missing",
  "api_key.invalid",
  "api_key.revoked",
  "api_key.wrong_kind",
  "rate_limit.exceeded",
  "rate_limit.unavailable",
];

/** A key, when one is sent, makes it an API-key request; otherwise a public one. */
const optionalApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("Authorization");
  if (header === undefined) {
    await ipRateLimit(c, next);
    return;
  }
  await authenticateApiKey(c, header);
  await orgRateLimit(c, async () => {
    await touchApiKey(c, async () => {
      await meterRequest(c, next);
    });
  });
});

export const ACCESS: Record<Access, AccessRule> = {
  api_key: { middleware: [apiKeyAuth, orgRateLimit, touchApiKey, meterRequest], security: [{ apiKey: [] }], codes: API_KEY_CODES, anyOrigin: false },
  client_secret: {
    middleware: [clientSecretAuth, orgRateLimit, touchApiKey, meterRequest],
    security: [{ apiKey: [] }, { clientSecret: [] }],
    codes: [...API_KEY_CODES, "client_secret.invalid", "config.secret_missing"],
    anyOrigin: false,
  },
  jwt: {
    middleware: [jwtAuth, orgRateLimit, meterRequest],
    security: [{ userJwt: [] }],
    codes: [
      "jwt.missing",
      "jwt.invalid",
      "jwt.expired",
      "jwt.jwks_unavailable",
      "api_key.wrong_kind",
      "rate_limit.exceeded",
      "rate_limit.unavailable",
      "config.secret_missing",
    ],
    anyOrigin: false,
  },
  public: { middleware: [ipRateLimit], security: [], codes: ["rate_limit.exceeded"], anyOrigin: true },
  public_or_api_key: {
    middleware: [optionalApiKey],
    security: [{}, { apiKey: [] }],
    codes: ["api_key.invalid", "api_key.revoked", "api_key.wrong_kind", "rate_limit.exceeded", "rate_limit.unavailable"],
    anyOrigin: true,
  },
  unmetered: { middleware: [], security: [], codes: [], anyOrigin: true },
};

/** Codes any route can answer: the global middleware's and the last-resort 500. */
export const GLOBAL_CODES: ErrorCode[] = ["request.too_large", "request.unsupported_media_type", "config.invalid", "internal"];
