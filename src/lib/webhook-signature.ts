/**
 * Standard Webhooks v1 signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by
 * the base64-decoded part of the secret after `whsec_`, one space-separated entry per active secret.
 */

import { encodeBase64 } from "./crypto";

const encoder = new TextEncoder();
const SECRET_PREFIX = "whsec_";

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64). */
export const newWebhookSecret = (): string => SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(32)));

/** The HMAC key of a `whsec_` secret; the reference libraries also accept it without padding. */
function secretKeyBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// Importing a key costs a little and every delivery of an endpoint uses the same one.
const keys = new Map<string, Promise<CryptoKey>>();
const keyFor = (secret: string): Promise<CryptoKey> => {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", secretKeyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keys.size > 1000) keys.clear();
    keys.set(secret, key);
  }
  return key;
};

/** One `v1,…` entry. `timestamp` is Unix seconds; `body` the exact bytes sent. */
export async function signV1(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await keyFor(secret), encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${encodeBase64(new Uint8Array(mac))}`;
}

/** The `webhook-signature` header: one entry per secret, newest first. */
export async function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): Promise<string> {
  return (await Promise.all(secrets.map((s) => signV1(s, id, timestamp, body)))).join(" ");
}
