// @ts-check
// `npm run token -- --org org_demo [--sub user_local] [--ttl 3600] [--name "Org name"]`
// Prints a user JWT (HS256) signed with the local JWT_SECRET, for the key-management endpoints.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs, parseEnv } from "node:util";
import { SignJWT } from "jose";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { values } = parseArgs({
  options: {
    org: { type: "string", default: "org_demo" },
    sub: { type: "string", default: "user_local" },
    ttl: { type: "string", default: "3600" },
    name: { type: "string" },
  },
});

// The secret `wrangler dev` uses: .dev.vars, else the example that `npm start` copies it from.
/** @param {string} name */
const read = (name) => (existsSync(`${root}${name}`) ? parseEnv(readFileSync(`${root}${name}`, "utf8")).JWT_SECRET : undefined);
const secret = read(".dev.vars") ?? read(".dev.vars.example");
if (!secret) {
  console.error("JWT_SECRET is not set in .dev.vars or .dev.vars.example");
  process.exit(1);
}

const token = await new SignJWT({ org_id: values.org, ...(values.name ? { org_name: values.name } : {}) })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${Number(values.ttl)}s`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
