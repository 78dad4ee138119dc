import { createMiddleware } from "hono/factory";
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Config } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { findOrCreateOrg } from "../services/orgs";
import { bearerToken, looksLikeApiKey, wrongKind } from "./bearer";

const ORG_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const encoder = new TextEncoder();

// jose caches the key set itself (and refetches on an unknown `kid`); one per URL per isolate.
const keySets = new Map<string, JWTVerifyGetKey>();
const keySet = (url: string) => {
  let jwks = keySets.get(url);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000, cooldownDuration: 30_000 });
    keySets.set(url, jwks);
  }
  return jwks;
};

const invalid = (why: string) => new ApiError("jwt.invalid", `Invalid token: ${why}.`);

async function verify(token: string, config: Config, log: Logger): Promise<JWTPayload> {
  const { jwksUrl, issuer, audience } = config.jwt;
  const options = {
    requiredClaims: ["sub", "org_id", "exp"],
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
  };
  if (jwksUrl) {
    try {
      return (await jwtVerify(token, keySet(jwksUrl), { ...options, algorithms: ["RS256", "ES256"] })).payload;
    } catch (err) {
      // The identity provider's key set could not be fetched or read: not the caller's fault.
      if (!(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.code === "ERR_JOSE_GENERIC") {
        log.error("JWKS unavailable", { error: String(err) });
        throw new ApiError("jwt.jwks_unavailable", "The identity provider's keys could not be fetched; retry shortly.");
      }
      throw err;
    }
  }
  return (await jwtVerify(token, encoder.encode(config.secret("JWT_SECRET")), { ...options, algorithms: ["HS256"] })).payload;
}

/**
 * Resolves `Authorization: Bearer <JWT>` of a signed-in user (claims `sub`, `org_id`, `exp`; `iss` and
 * `aud` when configured) to their org, creating the org on the free tier the first time it is seen.
 */
export const jwtAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"), "jwt");
  if (looksLikeApiKey(token)) throw wrongKind("jwt");

  let claims: JWTPayload;
  try {
    claims = await verify(token, c.get("config"), c.get("log"));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new ApiError("jwt.expired", "The token has expired; sign in again.");
    if (err instanceof errors.JWTClaimValidationFailed) throw invalid(`claim '${err.claim}' ${err.reason === "missing" ? "is missing" : "is not accepted"}`);
    if (err instanceof errors.JOSEError) throw invalid("signature or format not accepted");
    throw err;
  }
  const { sub, org_id: orgId } = claims;
  if (typeof sub !== "string" || sub === "") throw invalid("claim 'sub' must be a non-empty string");
  if (typeof orgId !== "string" || !ORG_ID_PATTERN.test(orgId)) throw invalid("claim 'org_id' must be 1-64 letters, digits or _.:-");

  const name = typeof claims.org_name === "string" && claims.org_name !== "" ? claims.org_name.slice(0, 200) : orgId;
  const org = await findOrCreateOrg(c.get("db"), orgId, name);
  c.set("auth", { org, userId: sub });
  await next();
});
