import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_LENGTH } from "../../src/cli/api-key-secret.mjs";
import * as rules from "../../src/cli/org-rules.mjs";
import { ROOT } from "../../src/cli/seed.mjs";
import { API_KEY_MODES, QUOTA_METRICS, TIERS } from "../../src/db/schema.ts";
import { ENTERPRISE_DEFAULT_CONCURRENCY, ENTERPRISE_DEFAULT_LIMIT, TIER_CONCURRENCY, TIER_LIMITS } from "../../src/lib/tiers.ts";
import { hermeticSettings } from "./settings.ts";
import { migrateAndSeed, startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

// Each command runs `wrangler d1 execute`: seconds, more on a busy machine.
const COMMAND_MS = 60_000;

/**
 * The operator commands against a database of their own (`--persist-to`, migrations and the local
 * seed applied), then a real `wrangler dev` on that same directory: the key keys:create printed
 * authenticates, with its tier's limit, and orgs:set-tier changes that limit.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const run = (script: "keys-create" | "orgs-set-tier", args: string[]) =>
  new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, `src/cli/${script}.mjs`), ...args],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });

/** Every file under dir, path and content hashed: whether a command wrote anything. */
function fingerprint(dir: string): string {
  const hash = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(path).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest("hex");
}

const ORG = "org_cli.test-1";
// A name that would break SQL built by pasting: it must arrive as written.
const NAME = "O'Brien; DROP TABLE orgs; --";

let dir: string;
let persist: string;
let dev: WranglerDev | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "avatar-api-cli-keys-"));
  persist = join(dir, "state");
  await migrateAndSeed(persist);
}, 60_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 15_000);

describe("the rules the commands copy from the API", () => {
  it("tiers, their limits and key modes are the API's", () => {
    expect(rules.TIERS).toEqual(TIERS);
    expect(rules.TIER_LIMITS).toEqual(TIER_LIMITS);
    expect(rules.ENTERPRISE_DEFAULT_LIMIT).toBe(ENTERPRISE_DEFAULT_LIMIT);
    expect(rules.TIER_CONCURRENCY).toEqual(TIER_CONCURRENCY);
    expect(rules.QUOTA_METRICS).toEqual(QUOTA_METRICS);
    expect(rules.ENTERPRISE_DEFAULT_CONCURRENCY).toBe(ENTERPRISE_DEFAULT_CONCURRENCY);
    expect(rules.API_KEY_MODES).toEqual(API_KEY_MODES);
  });
});

describe("bad input is refused before the database is touched", () => {
  const refusals: [string, "keys-create" | "orgs-set-tier", string[], RegExp][] = [
    [
      "an org id with a quote",
      "keys-create",
      ["--org", "org_x'; DROP TABLE orgs; --"],
      /^--org "org_x'; DROP TABLE orgs; --" is not an org id: 1-64 letters, digits or _.:-$/m,
    ],
    ["an org id too long", "keys-create", ["--org", "o".repeat(65)], /is not an org id/],
    ["no org", "keys-create", [], /^--org <id> is required$/m],
    ["an unknown tier", "keys-create", ["--org", "org_x", "--tier", "gold"], /^--tier "gold" is not a tier: free, creator, pro, enterprise$/m],
    ["an unknown mode", "keys-create", ["--org", "org_x", "--mode", "prod"], /^--mode "prod" is not a key mode: live, test$/m],
    ["a name with a control character", "keys-create", ["--org", "org_x", "--name", "a\u0007b"], /^--name must not contain control characters$/m],
    ["an unknown option", "keys-create", ["--org", "org_x", "--teir", "pro"], /Unknown option '--teir'/],
    ["--remote with --persist-to", "keys-create", ["--org", "org_x", "--remote"], /^--persist-to is for the local database; leave it out with --remote$/m],
    ["set-tier: an unknown tier", "orgs-set-tier", ["--org", "org_demo", "--tier", "platinum"], /^--tier "platinum" is not a tier/m],
    ["set-tier: no tier", "orgs-set-tier", ["--org", "org_demo"], /^--tier <tier> is required$/m],
    ["set-tier: a bad org id", "orgs-set-tier", ["--org", "org demo", "--tier", "pro"], /^--org "org demo" is not an org id/m],
    [
      "set-tier: a limit on a fixed tier",
      "orgs-set-tier",
      ["--org", "org_demo", "--tier", "pro", "--limit", "5"],
      /^--limit is an enterprise org's own limit; the pro tier's is fixed$/m,
    ],
    [
      "set-tier: a limit that is not a whole number",
      "orgs-set-tier",
      ["--org", "org_demo", "--tier", "enterprise", "--limit", "1e3"],
      /^--limit "1e3" is not a number of requests a minute/m,
    ],
    [
      "set-tier: a quota of an unknown metric",
      "orgs-set-tier",
      ["--org", "org_demo", "--tier", "pro", "--quota", "requests=5"],
      /^--quota "requests=5" is not <metric>=<n>\|none\|tier/m,
    ],
    [
      "set-tier: a concurrency that is not a number",
      "orgs-set-tier",
      ["--org", "org_demo", "--tier", "pro", "--concurrency", "many"],
      /^--concurrency "many" is not a number of conversations at once/m,
    ],
    ["set-tier: a zero limit", "orgs-set-tier", ["--org", "org_demo", "--tier", "enterprise", "--limit", "0"], /is not a number of requests a minute/],
  ];

  it(
    "each with one clear line, the usage and exit code 1",
    async () => {
      const before = fingerprint(persist);
      const runs = await Promise.all(refusals.map(([, script, args]) => run(script, [...args, "--persist-to", persist])));
      for (const [i, [what, , , message]] of refusals.entries()) {
        const r = runs[i] as Run;
        expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(1);
        expect(r.stdout, what).toBe("");
        expect(r.stderr, what).toMatch(message);
        expect(r.stderr, what).toMatch(/^usage: npm run (keys:create|orgs:set-tier) -- /m);
      }
      expect(fingerprint(persist)).toBe(before);
    },
    COMMAND_MS,
  );
});

describe("keys:create, then the key at work, then orgs:set-tier", () => {
  let secret: string;

  it(
    "creates the org on the tier asked for and a key, whose secret it prints once",
    async () => {
      const r = await run("keys-create", ["--org", ORG, "--tier", "pro", "--name", NAME, "--mode", "test", "--persist-to", persist]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const secrets = (r.stdout + r.stderr).match(/av_test_[A-Za-z0-9]+/g) ?? [];
      expect(secrets).toHaveLength(1);
      secret = secrets[0] as string;
      expect(secret).toMatch(new RegExp(`^av_test_[A-Za-z0-9]{${SECRET_LENGTH}}$`));
      expect(r.stdout).toContain(`Created org ${ORG} (pro, 60 requests a minute, 20 conversations at once)`);
      expect(r.stdout).toContain(`  KEY=${secret}\n  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8787/v1/avatars\n`);
      expect(r.stdout).toMatch(/No api_key.created webhook/);
    },
    COMMAND_MS,
  );

  it("the key authenticates a real request with the pro tier's limit", async () => {
    // A lease of 1 s: running Workers see a tier change that soon (10 s by default).
    dev = await startWranglerDev({ persistTo: persist, settings: { LIMITER_LEASE_MS: "1000" } });
    const res = await fetch(new URL("/v1/avatars", dev.url), { headers: { Authorization: `Bearer ${secret}` } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("X-RateLimit-Limit")).toBe("60");
    await res.arrayBuffer();
  }, 90_000);

  it("is the same kind of key the API makes, listed with its name as written", async () => {
    if (!dev) throw new Error("wrangler dev did not start");
    const jwt = await new SignJWT({ org_id: ORG })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("user_cli_test")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(hermeticSettings().JWT_SECRET));
    const auth = { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" };
    const made = await fetch(new URL("/v1/api-keys", dev.url), { method: "POST", headers: auth, body: JSON.stringify({ name: "via the API", mode: "test" }) });
    expect(made.status, await made.clone().text()).toBe(201);
    const apiKey = (await made.json()) as { id: string; secret: string; prefix: string; last4: string };
    expect(apiKey.secret.length).toBe(secret.length);

    const list = await fetch(new URL("/v1/api-keys", dev.url), { headers: auth });
    const { data } = (await list.json()) as { data: { id: string; name: string; mode: string; prefix: string; last4: string; revoked_at: null }[] };
    const cli = data.find((k) => k.name === NAME);
    expect(cli).toMatchObject({ mode: "test", prefix: secret.slice(0, apiKey.prefix.length), last4: secret.slice(-apiKey.last4.length), revoked_at: null });
    // Ids of the same shape: key_ and a ULID.
    expect(cli?.id).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(apiKey.id).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
  }, 15_000);

  it(
    "orgs:set-tier makes it an enterprise org with its own limit, which requests then get",
    async () => {
      if (!dev) throw new Error("wrangler dev did not start");
      const r = await run("orgs-set-tier", [
        ...["--org", ORG, "--tier", "enterprise", "--limit", "1234", "--concurrency", "7"],
        ...["--quota", "tts_characters=100", "--quota", "llm_tokens=none", "--persist-to", persist],
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `Org ${ORG}: pro, 60 requests a minute, 20 conversations at once before, enterprise, 1234 requests a minute, 7 conversations at once now`,
      );
      expect(r.stdout).toContain('Its own daily quotas now: {"tts_characters":100,"llm_tokens":null}.');
      let limit: string | null = null;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((w) => setTimeout(w, 250))) {
        const res = await fetch(new URL("/v1/avatars", dev.url), { headers: { Authorization: `Bearer ${secret}` } });
        await res.arrayBuffer();
        limit = res.headers.get("X-RateLimit-Limit");
        if (limit === "1234") break;
      }
      expect(limit).toBe("1234");
    },
    COMMAND_MS,
  );

  it(
    "keys:create on an existing org leaves its tier, and says so",
    async () => {
      const r = await run("keys-create", ["--org", ORG, "--tier", "free", "--persist-to", persist]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `Org ${ORG} exists (enterprise, 1234 requests a minute, 7 conversations at once); --tier free left it as it is (npm run orgs:set-tier changes it).`,
      );
      expect(r.stdout).toMatch(/^ {2}KEY=av_live_[A-Za-z0-9]{40}$/m);
    },
    COMMAND_MS,
  );
});
