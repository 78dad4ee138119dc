import { ApiError } from "../lib/errors";

/** `av_live_` or `av_test_` followed by a secret of at least 32 base62 characters (API.md §1). */
export const API_KEY_PATTERN = /^av_(live|test)_[A-Za-z0-9]{32,}$/;
const JWT_PATTERN = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export const looksLikeApiKey = (token: string) => /^av_(live|test)_/.test(token);
export const looksLikeJwt = (token: string) => JWT_PATTERN.test(token);

type Kind = "api_key" | "jwt";
const HOW: Record<Kind, string> = {
  api_key: "Pass an API key as 'Authorization: Bearer av_live_…'.",
  jwt: "Pass a signed-in user's token as 'Authorization: Bearer <JWT>'.",
};

/** Reads the bearer token, or says exactly why there is none (`<kind>.missing` / `<kind>.invalid`). */
export function bearerToken(header: string | undefined, kind: Kind): string {
  if (header === undefined || header.trim() === "") {
    throw new ApiError(`${kind}.missing`, `Missing credentials. ${HOW[kind]}`);
  }
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new ApiError(`${kind}.invalid`, `Malformed Authorization header. ${HOW[kind]}`);
  return match[1];
}

/** A key that was revoked: found so in D1, or told so by the org's rate limiter. */
export const keyRevoked = () => new ApiError("api_key.revoked", "This API key has been revoked.");

/** An API key where a JWT belongs, or the reverse: the caller holds the wrong kind of credential. */
export const wrongKind = (expected: Kind) =>
  new ApiError(
    "api_key.wrong_kind",
    expected === "jwt" ? "This endpoint is for signed-in users: it takes a user JWT, not an API key." : "This endpoint takes an API key, not a user JWT.",
  );
