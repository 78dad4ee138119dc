import { base64url } from "jose";
import { decodeBase64Url, hmacSign, hmacVerify } from "../lib/crypto";

/**
 * Conversation client secrets (`cs_…`): short-lived tokens a backend hands to a browser so it can
 * open one conversation's WebSocket without ever seeing an API key. Stateless: the token carries
 * the conversation, the org and the expiry, signed with the deployment's signing secret under its
 * own domain (the `client_secret:` prefix), so it can never pass for a model-URL signature.
 */
export const CLIENT_SECRET_TTL_SECONDS = 600;
/** Longer than any token this module mints; longer input is refused before any work. */
const MAX_TOKEN_LENGTH = 512;

interface Claims {
  /** Conversation id. */
  c: string;
  /** Org id. */
  o: string;
  /** Expiry, Unix seconds. */
  e: number;
  /**
   * The API key that created the conversation (and so minted this secret): revoking it stops the
   * secret too. Absent only in secrets minted before keys were recorded (they expire in 10 minutes).
   */
  k?: string;
}

const message = (payload: string) => `client_secret:${payload}`;

export async function mintClientSecret(secret: string, scope: { conversationId: string; orgId: string; keyId: string | undefined }, now: number) {
  const expires = Math.floor(now / 1000) + CLIENT_SECRET_TTL_SECONDS;
  const claims: Claims = { c: scope.conversationId, o: scope.orgId, e: expires, ...(scope.keyId === undefined ? {} : { k: scope.keyId }) };
  const payload = base64url.encode(JSON.stringify(claims));
  return { value: `cs_${payload}.${await hmacSign(secret, message(payload))}`, expiresAtMs: expires * 1000 };
}

export type ClientSecretCheck = { ok: true; orgId: string; keyId: string | undefined } | { ok: false; reason: string };

/** Valid only for `conversationId`, before its expiry, and with an untouched signature. */
export async function checkClientSecret(secret: string, token: string, conversationId: string, now: number): Promise<ClientSecretCheck> {
  const match = token.length <= MAX_TOKEN_LENGTH ? /^cs_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token) : null;
  if (!match?.[1] || !match[2]) return { ok: false, reason: "it is not a client secret" };
  const [, payload, signature] = match;
  if (!(await hmacVerify(secret, message(payload), signature))) return { ok: false, reason: "its signature does not match" };
  const bytes = decodeBase64Url(payload);
  let claims: Partial<Claims>;
  try {
    claims = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Claims>;
  } catch {
    return { ok: false, reason: "it is not a client secret" };
  }
  if (claims.c !== conversationId || typeof claims.o !== "string") return { ok: false, reason: "it was issued for another conversation" };
  if (typeof claims.e !== "number" || claims.e * 1000 <= now) return { ok: false, reason: "it has expired; create a new one with the conversation" };
  return { ok: true, orgId: claims.o, keyId: typeof claims.k === "string" ? claims.k : undefined };
}
