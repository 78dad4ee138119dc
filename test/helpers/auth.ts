import { env } from "cloudflare:workers";
import { SignJWT } from "jose";

/** A user JWT signed with the test JWT_SECRET (HS256), valid for an hour unless overridden. */
export async function userJwt(claims: Record<string, unknown> = {}, opts: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT({ sub: "user_test", org_id: "org_demo", ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET));
}

export const sha256Hex = async (value: string) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))), (b) => b.toString(16).padStart(2, "0")).join("");

/** Another API key for an existing org, written straight to D1. */
export async function addKey(orgId: string, name: string) {
  const key = `av_test_${orgId.replace(/[^A-Za-z0-9]/g, "")}${name.replace(/[^A-Za-z0-9]/g, "")}${"0".repeat(32)}`;
  const keyId = `key_${orgId}_${name}`;
  await env.DB.prepare("INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at) VALUES (?, ?, ?, 'test', ?, ?, '0000', ?)")
    .bind(keyId, orgId, name, await sha256Hex(key), key.slice(0, 12), Date.now())
    .run();
  return { key, keyId };
}

let orgCounter = 0;

/**
 * A fresh org with one API key, written straight to D1, so a test owns its rate-limit window and
 * its keys. Storage is shared by the tests of one file.
 */
export async function freshOrg(tier: "free" | "creator" | "pro" | "enterprise", customLimit: number | null = null) {
  orgCounter += 1;
  const id = `org_t${Date.now().toString(36)}${orgCounter}`;
  const key = `av_test_${id.replace(/[^A-Za-z0-9]/g, "")}${"0".repeat(32)}`;
  await env.DB.batch([
    env.DB.prepare("INSERT INTO orgs (id, name, tier, rate_limit_per_minute, created_at) VALUES (?, ?, ?, ?, ?)").bind(id, id, tier, customLimit, Date.now()),
    env.DB.prepare("INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at) VALUES (?, ?, 'test', 'test', ?, ?, '0000', ?)").bind(
      `key_${id}`,
      id,
      await sha256Hex(key),
      key.slice(0, 12),
      Date.now(),
    ),
  ]);
  return { id, key, keyId: `key_${id}` };
}
