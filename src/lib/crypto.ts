import { base64url } from "jose";

const encoder = new TextEncoder();

const toHex = (buffer: ArrayBuffer): string => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

export const sha256Hex = async (value: string): Promise<string> => toHex(await crypto.subtle.digest("SHA-256", encoder.encode(value)));

/** base64url without padding; undefined for anything that is not (a caller's input is never trusted). */
export const decodeBase64Url = (value: string): Uint8Array | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) return undefined;
  try {
    return base64url.decode(value);
  } catch {
    return undefined;
  }
};

// Importing a key costs a little; one per secret per isolate is enough.
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const hmacKey = (secret: string): Promise<CryptoKey> => {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
};

/** HMAC-SHA256 of `message`, base64url without padding (URL-safe as a query value). */
export const hmacSign = async (secret: string, message: string): Promise<string> =>
  base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message))));

/**
 * Constant-time check of a signature made by `hmacSign` (WebCrypto's verify does the comparison).
 * Anything that does not decode to 32 bytes is simply not a valid signature, and neither is a
 * non-canonical spelling of a valid one (a last character that differs only in its unused padding
 * bits decodes to the same bytes): one signature, one string, so a signed URL cannot be varied.
 */
export const hmacVerify = async (secret: string, message: string, signature: string): Promise<boolean> => {
  const bytes = decodeBase64Url(signature);
  if (bytes?.length !== 32 || base64url.encode(bytes) !== signature) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), bytes, encoder.encode(message));
};

// workerd has Uint8Array.prototype.toBase64 (TC39): 5x faster than a binary string through btoa,
// which matters for audio frames. The fallback is for runtimes without it.
const toBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;

/** Standard base64 (with padding) of raw bytes, e.g. audio inside JSON. */
export const encodeBase64 = (bytes: Uint8Array): string => {
  if (toBase64) return toBase64.call(bytes);
  let binary = "";
  // In slices: String.fromCharCode takes its bytes as arguments, and arguments are limited.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};

/** `bytes` random bytes as base64url: a token that names something without being guessable. */
export const randomToken = (bytes = 16): string => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
