// @ts-check
// `npm run token -- --org org_demo [--sub user_local] [--ttl 3600] [--name "Org name"]`
// Prints a user JWT (HS256), for the key-management endpoints, signed with the JWT_SECRET of the
// environment when it is set (a deployment's secret you kept: `JWT_SECRET=… npm run token`), else
// the local one `wrangler dev` uses.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { parseDotenv } from "./dotenv.mjs";

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
const read = (name) => (existsSync(`${root}${name}`) ? parseDotenv(readFileSync(`${root}${name}`, "utf8")).JWT_SECRET : undefined);
const secret = process.env.JWT_SECRET || (read(".dev.vars") ?? read(".dev.vars.example"));
if (!secret) {
  console.error("JWT_SECRET is not set in the environment, .dev.vars or .dev.vars.example");
  process.exit(1);
}

const token = await new SignJWT({ org_id: values.org, ...(values.name ? { org_name: values.name } : {}) })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${Number(values.ttl)}s`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
