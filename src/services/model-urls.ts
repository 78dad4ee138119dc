import { hmacSign, hmacVerify } from "../lib/crypto";
import { ApiError } from "../lib/errors";

const filePath = (avatarId: string) => `/v1/avatars/${encodeURIComponent(avatarId)}/model/file`;
// The signature covers the path and the expiry, so neither can be changed without breaking it.
const message = (avatarId: string, expires: number) => `GET ${filePath(avatarId)}?expires=${expires}`;

export async function signModelUrl(opts: { secret: string; baseUrl: string; avatarId: string; ttlSeconds: number; now: number }) {
  const expires = Math.floor(opts.now / 1000) + opts.ttlSeconds;
  const signature = await hmacSign(opts.secret, message(opts.avatarId, expires));
  const url = new URL(filePath(opts.avatarId), opts.baseUrl);
  url.search = new URLSearchParams({ expires: String(expires), signature }).toString();
  return { url: url.toString(), expiresAtMs: expires * 1000 };
}

/** Checks the signature first (so an edited expiry is `signature.invalid`), then the expiry. */
export async function verifyModelUrl(opts: { secret: string; avatarId: string; expires: string; signature: string; now: number }) {
  const expires = Number(opts.expires);
  // `0900` would sign as 900: only the canonical spelling of the signed expiry is the signed URL.
  const canonical = String(expires) === opts.expires;
  if (!canonical || !(await hmacVerify(opts.secret, message(opts.avatarId, expires), opts.signature))) {
    throw new ApiError("signature.invalid", "The URL signature is invalid.", { param: "signature" });
  }
  if (expires * 1000 <= opts.now) {
    throw new ApiError("signature.expired", "This URL has expired; request a new one from GET /v1/avatars/{avatar_id}/model.", {
      param: "expires",
    });
  }
  return expires;
}
