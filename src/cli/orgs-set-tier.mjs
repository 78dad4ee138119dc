// @ts-check
// `npm run orgs:set-tier -- --org <id> --tier <tier> [--limit <n>] [--concurrency <n>|tier] [--remote]`
// An org's tier, an enterprise org's own limit (requests a minute), and any org's own number of
// conversations at once (`tier` goes back to the tier's): no route writes tiers, so an
// operator does, locally by default (the D1 of `npm start`; --persist-to <dir> as wrangler takes it)
// or in production with --remote. Running Workers pick the change up when their cached key records
// and org rows expire (a rate-limit lease lifetime, 10 s, for API keys; a minute for user JWTs).
import { describeTarget, execute, sqlInteger, sqlText, TARGET_OPTIONS, targetFrom } from "./d1.mjs";
import { checkConcurrency, checkLimit, checkOrgId, checkQuota, checkTier, describeOrg, selectOrg } from "./org-rules.mjs";
import { parseOptions, refuse, UsageError } from "./usage.mjs";

const USAGE =
  "npm run orgs:set-tier -- --org <id> --tier free|creator|pro|enterprise [--limit <requests a minute, enterprise only>]" +
  " [--concurrency <conversations at once>|tier] [--quota <metric>=<n>|none|tier ...] [--remote | --persist-to <dir>]";

const values = parseOptions(
  {
    org: { type: "string" },
    tier: { type: "string" },
    limit: { type: "string" },
    concurrency: { type: "string" },
    quota: { type: "string", multiple: true },
    ...TARGET_OPTIONS,
  },
  USAGE,
);

let input;
try {
  if (values.tier === undefined) throw new UsageError("--tier <tier> is required");
  const tier = checkTier(values.tier);
  if (values.limit !== undefined && tier !== "enterprise") {
    throw new UsageError(`--limit is an enterprise org's own limit; the ${tier} tier's is fixed`);
  }
  input = {
    orgId: checkOrgId(values.org),
    tier,
    limit: values.limit === undefined ? undefined : checkLimit(values.limit),
    concurrency: values.concurrency === undefined ? undefined : checkConcurrency(values.concurrency),
    quotas: (values.quota ?? []).map(checkQuota),
    target: targetFrom(values),
  };
} catch (err) {
  if (err instanceof UsageError) refuse(err.message, USAGE);
  throw err;
}
const { orgId, tier, limit, concurrency, quotas, target } = input;

// Without --limit an enterprise org keeps the limit it has stored (ENTERPRISE_DEFAULT_LIMIT when
// none); other tiers ignore the column, which is left alone so a later enterprise tier finds it.
// Without --concurrency the org keeps its own number of conversations at once, if it has one.
const set = [
  `tier = ${sqlText(tier)}`,
  ...(limit === undefined ? [] : [`rate_limit_per_minute = ${sqlInteger(limit)}`]),
  ...(concurrency === undefined ? [] : [`max_concurrent_conversations = ${concurrency === null ? "NULL" : sqlInteger(concurrency)}`]),
];
// Each --quota edits the org's own quotas (a JSON object) one metric at a time; `tier` removes the
// metric, so the tier's number applies again.
if (quotas.length > 0) {
  let json = "coalesce(quotas, '{}')";
  for (const q of quotas) {
    json =
      q.value === "tier"
        ? `json_remove(${json}, '$.${q.metric}')`
        : `json_set(${json}, '$.${q.metric}', ${q.value === null ? "json('null')" : sqlInteger(q.value)})`;
  }
  set.push(`quotas = ${json}`);
}
const id = sqlText(orgId);
const [before, , after] = execute(target, [selectOrg(id), `UPDATE orgs SET ${set.join(", ")} WHERE id = ${id}`, selectOrg(id)]);

/** @typedef {import("./org-rules.mjs").OrgRow} OrgRow */
const was = /** @type {OrgRow | undefined} */ (before?.results[0]);
const now = /** @type {OrgRow | undefined} */ (after?.results[0]);
if (!was || !now) {
  console.error(`There is no org ${orgId} in ${describeTarget(target)}; npm run keys:create -- --org ${orgId} creates it.`);
  process.exit(1);
}
const ownQuotas = quotas.length > 0 ? ` Its own daily quotas now: ${now.quotas ?? "none (its tier's)"}.` : "";
console.log(`Org ${orgId}: ${describeOrg(was)} before, ${describeOrg(now)} now, in ${describeTarget(target)}.${ownQuotas}
Running Workers apply it as their cached records expire: for API keys within a lease lifetime (LIMITER_LEASE_MS, 10 s), for user JWTs within a minute.`);
