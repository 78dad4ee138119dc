import { createMiddleware } from "hono/factory";
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Config } from "../config";
import type { AppEnv } from "../env";
import { ApiError, quote } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { findOrCreateOrg } from "../services/orgs";
import { authenticationFailed, refuseIfOverFailureLimit } from "./auth-failures";
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

/** Clock skew allowed for a token issued "in the future" by an identity provider's clock. */
const IAT_SKEW_S = 60;

async function verify(token: string, config: Config, log: Logger): Promise<JWTPayload> {
  const { jwksUrl, issuer, audience, problem } = config.jwt;
  if (problem) throw new ApiError("config.invalid", "This deployment cannot verify user tokens safely; the operator has been told which setting is missing.");
  const options = {
    requiredClaims: ["sub", "org_id", "exp", "iat"],
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
 * Resolves `Authorization: Bearer <JWT>` of a signed-in user (claims `sub`, `org_id`, `exp`, `iat`;
 * `iss` and `aud` when configured, `aud` always with a JWKS) to their org, creating the org on the
 * free tier the first time it is seen. `org_id` is trusted as the identity provider wrote it: it
 * must be a claim its users cannot edit (an app-metadata claim, not profile data).
 */
export const jwtAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"), "jwt");
  if (looksLikeApiKey(token)) throw wrongKind("jwt");

  refuseIfOverFailureLimit(c);
  let claims: JWTPayload;
  try {
    claims = await verify(token, c.get("config"), c.get("log"));
  } catch (err) {
    // An expired token is a user to send back to sign-in, not a guess: only forgeries count as failures.
    if (err instanceof errors.JWTExpired) throw new ApiError("jwt.expired", "The token has expired; sign in again.");
    if (err instanceof errors.JWTClaimValidationFailed)
      throw invalid(`claim ${quote(err.claim)} ${err.reason === "missing" ? "is missing" : "is not accepted"}`);
    if (err instanceof errors.JOSEError) return authenticationFailed(c, invalid("signature or format not accepted"));
    throw err;
  }
  // `iat` bounds a token's life whatever its `exp` says: a token minted for a year, or leaked from a
  // log, stops working after JWT_MAX_AGE_SECONDS. (jose checks that `iat` is a number.)
  const now = Math.floor(Date.now() / 1000);
  const issuedAt = claims.iat ?? now;
  if (issuedAt > now + IAT_SKEW_S) throw invalid("claim 'iat' is in the future");
  const { maxAgeSeconds } = c.get("config").jwt;
  if (now - issuedAt > maxAgeSeconds) {
    throw new ApiError("jwt.expired", `The token was issued more than ${maxAgeSeconds} seconds ago; sign in again.`);
  }
  const { sub, org_id: orgId } = claims;
  if (typeof sub !== "string" || sub === "") throw invalid("claim 'sub' must be a non-empty string");
  if (typeof orgId !== "string" || !ORG_ID_PATTERN.test(orgId)) throw invalid("claim 'org_id' must be 1-64 letters, digits or _.:-");

  const name = typeof claims.org_name === "string" && claims.org_name !== "" ? claims.org_name.slice(0, 200) : orgId;
  const org = await findOrCreateOrg(c.get("db"), orgId, name);
  c.set("auth", { org, userId: sub });
  await next();
});
