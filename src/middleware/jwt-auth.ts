import { createMiddleware } from "hono/factory";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { AppEnv, AuthOrg, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { TtlCache } from "../lib/ttl-cache";
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

// Org rows change rarely (tier upgrades); caching them saves a D1 round trip per request.
const orgCache = new TtlCache<string, AuthOrg>(60_000, 10_000);

const invalid = (why: string) => new ApiError("authentication", "jwt.invalid", `Invalid token: ${why}.`);

async function verify(token: string, env: Bindings) {
  const options = {
    requiredClaims: ["sub", "org_id", "exp"],
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
  };
  if (env.JWT_JWKS_URL) {
    try {
      return (await jwtVerify(token, keySet(env.JWT_JWKS_URL), { ...options, algorithms: ["RS256", "ES256"] })).payload;
    } catch (err) {
      // The identity provider's key set could not be fetched or read: not the caller's fault.
      if (!(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.code === "ERR_JOSE_GENERIC") {
        console.error(JSON.stringify({ level: "error", message: "JWKS unavailable", error: String(err) }));
        throw new ApiError("service_unavailable", "jwt.jwks_unavailable", "The identity provider's keys could not be fetched; retry shortly.");
      }
      throw err;
    }
  }
  if (!env.JWT_SECRET) throw new Error("JWT_SECRET is not set and JWT_JWKS_URL is not configured");
  return (await jwtVerify(token, encoder.encode(env.JWT_SECRET), { ...options, algorithms: ["HS256"] })).payload;
}

/**
 * Resolves `Authorization: Bearer <JWT>` of a signed-in user (claims `sub`, `org_id`, `exp`; `iss` and
 * `aud` when configured) to their org, creating the org on the free tier the first time it is seen.
 */
export const jwtAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"), "jwt");
  if (looksLikeApiKey(token)) throw wrongKind("jwt");

  let claims: Awaited<ReturnType<typeof verify>>;
  try {
    claims = await verify(token, c.env);
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new ApiError("authentication", "jwt.expired", "The token has expired; sign in again.");
    if (err instanceof errors.JWTClaimValidationFailed) throw invalid(`claim '${err.claim}' ${err.reason === "missing" ? "is missing" : "is not accepted"}`);
    if (err instanceof errors.JOSEError) throw invalid("signature or format not accepted");
    throw err;
  }
  const { sub, org_id: orgId } = claims;
  if (typeof sub !== "string" || sub === "") throw invalid("claim 'sub' must be a non-empty string");
  if (typeof orgId !== "string" || !ORG_ID_PATTERN.test(orgId)) throw invalid("claim 'org_id' must be 1-64 letters, digits or _.:-");

  let org = orgCache.get(orgId);
  if (!org) {
    const name = typeof claims.org_name === "string" && claims.org_name !== "" ? claims.org_name.slice(0, 200) : orgId;
    org = await findOrCreateOrg(c.var.db, orgId, name);
    orgCache.set(orgId, org);
  }
  c.set("auth", { org, userId: sub });
  await next();
});
