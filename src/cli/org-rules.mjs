// @ts-check
// The rules the API applies to orgs and keys, for the operator commands (keys:create,
// orgs:set-tier), which write the database without going through the API. The API's own
// definitions are TypeScript the Worker bundles and Node cannot import: test/node/cli.keys.test.ts
// checks these copies against them (src/db/schema.ts, src/lib/tiers.ts, src/middleware/jwt-auth.ts,
// src/routes/api-keys/api-keys.schemas.ts).
import { UsageError } from "./usage.mjs";

/** Org ids as a user JWT's `org_id` may name them (src/middleware/jwt-auth.ts). */
export const ORG_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** src/db/schema.ts TIERS. */
export const TIERS = /** @type {const} */ (["free", "creator", "pro", "enterprise"]);
/** Requests per minute by tier (src/lib/tiers.ts). */
export const TIER_LIMITS = { free: 10, creator: 30, pro: 60 };
/** An enterprise org's limit until its own is stored (src/lib/tiers.ts). */
export const ENTERPRISE_DEFAULT_LIMIT = 600;
/** Conversations at once by tier (src/lib/tiers.ts). */
export const TIER_CONCURRENCY = { free: 2, creator: 5, pro: 20 };
/** An enterprise org's number until its own is stored (src/lib/tiers.ts). */
export const ENTERPRISE_DEFAULT_CONCURRENCY = 100;
/** What a daily quota can cap (src/db/schema.ts QUOTA_METRICS). */
export const QUOTA_METRICS = /** @type {const} */ (["conversation_seconds", "tts_characters", "llm_tokens"]);
/** src/db/schema.ts API_KEY_MODES; `live` is the API's default. */
export const API_KEY_MODES = /** @type {const} */ (["live", "test"]);
/** A key's name: a text field of at most this many characters (src/routes/api-keys/api-keys.schemas.ts). */
export const KEY_NAME_MAX = 100;
/** An enterprise limit is a whole number of requests a minute, within what one counter sensibly holds. */
export const LIMIT_MAX = 1_000_000_000;

/** @typedef {(typeof TIERS)[number]} Tier */
/** @typedef {(typeof API_KEY_MODES)[number]} ApiKeyMode */

/**
 * The limit an org gets (src/lib/tiers.ts limitFor).
 * @param {Tier} tier
 * @param {number | null} customLimit
 */
export const limitFor = (tier, customLimit) => (tier === "enterprise" ? (customLimit ?? ENTERPRISE_DEFAULT_LIMIT) : TIER_LIMITS[tier]);

/**
 * The conversations an org may hold at once (src/lib/tiers.ts concurrencyFor).
 * @param {Tier} tier
 * @param {number | null} custom
 */
export const concurrencyFor = (tier, custom) => custom ?? (tier === "enterprise" ? ENTERPRISE_DEFAULT_CONCURRENCY : TIER_CONCURRENCY[tier]);

/** @typedef {{ tier: Tier, rate_limit_per_minute: number | null, max_concurrent_conversations: number | null, quotas: string | null }} OrgRow */

/** The statement that reads an org's OrgRow; `orgId` as a SQL literal (d1.mjs sqlText). */
export const selectOrg = (/** @type {string} */ orgIdLiteral) =>
  `SELECT tier, rate_limit_per_minute, max_concurrent_conversations, quotas FROM orgs WHERE id = ${orgIdLiteral}`;

/** An org's tier and the limits it gets, as the commands print them. */
export const describeOrg = (/** @type {OrgRow} */ row) =>
  `${row.tier}, ${limitFor(row.tier, row.rate_limit_per_minute)} requests a minute, ${concurrencyFor(row.tier, row.max_concurrent_conversations)} conversations at once`;

/** @param {string | undefined} value */
export function checkOrgId(value) {
  if (value === undefined) throw new UsageError("--org <id> is required");
  if (!ORG_ID_PATTERN.test(value)) throw new UsageError(`--org ${JSON.stringify(value)} is not an org id: 1-64 letters, digits or _.:-`);
  return value;
}

/**
 * @param {string} value
 * @returns {Tier}
 */
export function checkTier(value) {
  const tier = TIERS.find((t) => t === value);
  if (!tier) throw new UsageError(`--tier ${JSON.stringify(value)} is not a tier: ${TIERS.join(", ")}`);
  return tier;
}

/**
 * @param {string} value
 * @returns {ApiKeyMode}
 */
export function checkMode(value) {
  const mode = API_KEY_MODES.find((m) => m === value);
  if (!mode) throw new UsageError(`--mode ${JSON.stringify(value)} is not a key mode: ${API_KEY_MODES.join(", ")}`);
  return mode;
}

/** @param {string} value */
export function checkLimit(value) {
  const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= LIMIT_MAX))
    throw new UsageError(`--limit ${JSON.stringify(value)} is not a number of requests a minute: a whole number from 1 to ${LIMIT_MAX}`);
  return n;
}

/**
 * `--concurrency`: a whole number of conversations at once, or `tier` for the tier's own (null).
 * @param {string} value
 * @returns {number | null}
 */
export function checkConcurrency(value) {
  if (value === "tier") return null;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= 1_000_000))
    throw new UsageError(`--concurrency ${JSON.stringify(value)} is not a number of conversations at once: a whole number from 1 to 1000000, or tier`);
  return n;
}

/**
 * `--quota metric=<n>|none|tier`: an org's own daily quota of a metric (a whole number), none at
 * all (`none`), or its tier's again (`tier`).
 * @param {string} value
 * @returns {{ metric: (typeof QUOTA_METRICS)[number], value: number | null | "tier" }}
 */
export function checkQuota(value) {
  const [name, amount, ...rest] = value.split("=");
  const metric = QUOTA_METRICS.find((m) => m === name);
  if (!metric || amount === undefined || rest.length > 0) {
    throw new UsageError(`--quota ${JSON.stringify(value)} is not <metric>=<n>|none|tier, with a metric of ${QUOTA_METRICS.join(", ")}`);
  }
  if (amount === "none") return { metric, value: null };
  if (amount === "tier") return { metric, value: "tier" };
  const n = /^\d{1,13}$/.test(amount) ? Number(amount) : Number.NaN;
  if (!(n >= 0 && n <= 1_000_000_000_000)) throw new UsageError(`--quota ${JSON.stringify(value)}: the quota must be a whole number, none or tier`);
  return { metric, value: n };
}

// As src/lib/text.ts textField: no C0/C1 control characters, no lone surrogate halves.
const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F-\u009F]/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A key name as POST /v1/api-keys takes it: trimmed, 1 to 100 characters, no control characters.
 * @param {string} value
 */
export function checkKeyName(value) {
  const name = value.trim();
  if (name.length < 1 || name.length > KEY_NAME_MAX) throw new UsageError(`--name must be 1 to ${KEY_NAME_MAX} characters`);
  if (CONTROL_CHARACTERS.test(name)) throw new UsageError("--name must not contain control characters");
  if (LONE_SURROGATE.test(name)) throw new UsageError("--name must be valid Unicode");
  return name;
}
