// @ts-check
// `npm run keys:create -- --org <id> [--tier <tier>] [--name <name>] [--mode live|test] [--remote]`
// An API key without a user JWT: the first key of a deployment (key management itself takes a JWT,
// and a fresh deployment has none), or a key an operator makes for an org. Creates the org when it
// does not exist (on --tier, else free, as a user's first JWT would), then the key, as
// POST /v1/api-keys does, and prints its secret this once. Locally by default (the D1 of
// `npm start`; --persist-to <dir> as wrangler takes it), in production with --remote.
//
// No `api_key.created` event is recorded or sent: this bypasses the API, and an org's first key
// cannot have a webhook endpoint to tell yet (endpoints are made with a key). GET /v1/api-keys
// lists the key like any other.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mintApiKey } from "./api-key-secret.mjs";
import { describeTarget, execute, sqlInteger, sqlText, TARGET_OPTIONS, targetFrom } from "./d1.mjs";
import { checkKeyName, checkMode, checkOrgId, checkTier, describeOrg, selectOrg } from "./org-rules.mjs";
import { parseOptions, refuse, UsageError } from "./usage.mjs";

const USAGE =
  "npm run keys:create -- --org <id> [--tier free|creator|pro|enterprise] [--name <key name>] [--mode live|test]" +
  " [--remote | --persist-to <dir>] [--url <API base URL for the curl line>]";
const DEFAULT_NAME = "Created with keys:create";

const values = parseOptions(
  {
    org: { type: "string" },
    tier: { type: "string" },
    name: { type: "string", default: DEFAULT_NAME },
    mode: { type: "string", default: "live" },
    url: { type: "string" },
    ...TARGET_OPTIONS,
  },
  USAGE,
);

let input;
try {
  input = {
    orgId: checkOrgId(values.org),
    tier: values.tier === undefined ? undefined : checkTier(values.tier),
    name: checkKeyName(values.name),
    mode: checkMode(values.mode),
    target: targetFrom(values),
  };
} catch (err) {
  if (err instanceof UsageError) refuse(err.message, USAGE);
  throw err;
}
const { orgId, tier, name, mode, target } = input;

const key = mintApiKey(mode);
const now = Date.now();
// One `wrangler d1 execute`: the org if missing (its id is its name, as for a JWT without
// `org_name`), whether it was just created, the key, and the org as it now is.
const orgValues = [sqlText(orgId), sqlText(orgId), sqlText(tier ?? "free"), "NULL", sqlInteger(now)];
const keyValues = [...[key.id, orgId, name, mode, key.keyHash, key.prefix, key.last4].map(sqlText), sqlInteger(now)];
const [, created, , org] = execute(target, [
  `INSERT INTO orgs (id, name, tier, rate_limit_per_minute, created_at) VALUES (${orgValues.join(", ")}) ON CONFLICT (id) DO NOTHING`,
  "SELECT changes() AS created",
  `INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at) VALUES (${keyValues.join(", ")})`,
  selectOrg(sqlText(orgId)),
]);

const row = /** @type {import("./org-rules.mjs").OrgRow | undefined} */ (org?.results[0]);
if (!row) throw new Error(`org ${orgId} is missing right after the key was created`);
const orgTier = describeOrg(row);
if (created?.results[0]?.created === 1) {
  console.log(`Created org ${orgId} (${orgTier}) in ${describeTarget(target)}.`);
} else {
  const ignored = tier !== undefined && tier !== row.tier ? `; --tier ${tier} left it as it is (npm run orgs:set-tier changes it)` : "";
  console.log(`Org ${orgId} exists (${orgTier})${ignored}.`);
}
console.log(`Created API key ${key.id} "${name}" (${mode}) for ${orgId}.
No api_key.created webhook is sent for it: it did not go through the API.

The key, shown this once (only its SHA-256 is stored):

  KEY=${key.secret}
  curl -H "Authorization: Bearer $KEY" ${baseUrl()}/v1/avatars
`);

/** Where the curl line points: --url, else the local server, else the workers.dev address to fill in. */
function baseUrl() {
  if (values.url) return values.url.replace(/\/+$/, "");
  if (!target.remote) return `http://${process.env.HOST ?? "127.0.0.1"}:${process.env.PORT ?? "8787"}`;
  const toml = readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8");
  const worker = /^name\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "<worker>";
  return `https://${worker}.<your-subdomain>.workers.dev`;
}
