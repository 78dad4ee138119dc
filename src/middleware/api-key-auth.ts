import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { findKeyByHash } from "../services/api-keys";

/** `av_live_` or `av_test_` followed by a secret of at least 32 base62 characters (API.md §1). */
export const API_KEY_PATTERN = /^av_(live|test)_[A-Za-z0-9]{32,}$/;

const HOW = "Pass it as 'Authorization: Bearer av_live_…'.";

/** Reads the bearer token, or explains exactly why there is none. */
export function bearerToken(header: string | undefined, missingCode: string, what: string): string {
  if (header === undefined || header.trim() === "") {
    throw new ApiError("authentication", missingCode, `Missing ${what}. ${HOW}`);
  }
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new ApiError("authentication", missingCode.replace(/missing$/, "invalid"), `Malformed Authorization header. ${HOW}`);
  }
  return match[1];
}

/** Resolves `Authorization: Bearer <api key>` to the org it belongs to. */
export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"), "api_key.missing", "API key");
  if (!API_KEY_PATTERN.test(token)) {
    throw new ApiError("authentication", "api_key.invalid", "Invalid API key.");
  }
  const key = await findKeyByHash(c.var.db, await sha256Hex(token));
  if (!key) throw new ApiError("authentication", "api_key.invalid", "Invalid API key.");
  if (key.revokedAt !== null) throw new ApiError("authentication", "api_key.revoked", "This API key has been revoked.");
  c.set("auth", { org: key.org, keyId: key.keyId });
  await next();
});
