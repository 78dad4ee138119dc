// @ts-check
// A new API key exactly as POST /v1/api-keys mints one (src/services/api-keys.ts createKey): the
// secret `av_<mode>_` + 40 base62 characters from the CSPRNG, stored only as the hex SHA-256 of the
// whole string, with its first 12 and last 4 characters for display, under a `key_<ULID>` id.
// test/node/cli.keys.test.ts compares a key made here with one the API makes.
import { createHash, getRandomValues } from "node:crypto";
import { ulid } from "ulid";

/** Characters of randomness after `av_live_` / `av_test_` (src/services/api-keys.ts SECRET_LENGTH). */
export const SECRET_LENGTH = 40;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * `length` uniformly random base62 characters (src/lib/secrets.ts randomBase62): bytes ≥ 248 are
 * rejected so that `byte % 62` has no bias (248 = 4 × 62).
 * @param {number} length
 */
export function randomBase62(length) {
  let out = "";
  while (out.length < length) {
    for (const byte of getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * @param {import("./org-rules.mjs").ApiKeyMode} mode
 * @returns {{ id: string, secret: string, keyHash: string, prefix: string, last4: string }}
 */
export function mintApiKey(mode) {
  const secret = `av_${mode}_${randomBase62(SECRET_LENGTH)}`;
  return {
    id: `key_${ulid()}`,
    secret,
    keyHash: createHash("sha256").update(secret).digest("hex"),
    prefix: secret.slice(0, 12),
    last4: secret.slice(-4),
  };
}
