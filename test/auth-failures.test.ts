import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { clientAddress } from "../src/lib/client-address";
import { addKey, userJwt } from "./helpers/auth";
import { BASE, expectError, KEYS } from "./helpers/http";

/**
 * Failed authentications are limited per client address before any lookup: a client guessing keys
 * or client secrets gets `429` after AUTH_FAILURES_PER_MINUTE (here 3), and an unknown key it
 * repeats costs no lookup at all. Every statement D1 is asked to prepare is counted.
 */

const MINUTE = Date.UTC(2030, 5, 1, 9, 0);
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(MINUTE + 10_000);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** The D1 binding with every statement and batch counted (sessions included). */
function countingD1(db: D1Database) {
  const counter = { queries: 0 };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (prop === "prepare" || prop === "batch" || prop === "exec") counter.queries += 1;
          const result = (value as (...a: unknown[]) => unknown).apply(t, args);
          return prop === "withSession" ? wrap(result as object) : result;
        };
      },
    });
  return { db: wrap(db), counter };
}

let counted = countingD1(env.DB);
beforeEach(() => {
  counted = countingD1(env.DB);
});

async function call(path: string, opts: { ip: string; auth?: string; query?: string; settings?: Record<string, string> }) {
  const headers = new Headers({ "CF-Connecting-IP": opts.ip });
  if (opts.auth) headers.set("Authorization", `Bearer ${opts.auth}`);
  const ctx = createExecutionContext();
  const res = await createApp().fetch(
    new Request(`${BASE}${path}${opts.query ?? ""}`, { headers }),
    { ...env, DB: counted.db, AUTH_FAILURES_PER_MINUTE: "3", ...opts.settings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const unknownKey = (n: string) => `av_test_unknown${n.padEnd(32, "0")}`;

describe("client addresses", () => {
  it("are written one way: IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as IPv4, anything else 'unknown'", () => {
    expect(clientAddress("203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddress(" 203.0.113.7 ")).toBe("203.0.113.7");
    expect(clientAddress("2001:DB8:0:0:1::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress("2001:db8::ffff:1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress("2001:0db8:0000:0001:abcd::9")).toBe("2001:db8:0:1::/64");
    expect(clientAddress("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddress("::FFFF:cb00:7107")).toBe("203.0.113.7");
    for (const junk of [undefined, null, "", "999.1.1.1", "1.2.3", "example.com", "2001:db8::1::2", "::g", "1.2.3.4, 5.6.7.8", "x".repeat(100)]) {
      expect(clientAddress(junk)).toBe("unknown");
    }
  });
});

describe("failed authentications per address", () => {
  it("after three failures the next request is 429 with Retry-After, and asks D1 nothing", async () => {
    const ip = "198.51.100.1";
    for (let i = 0; i < 3; i++) {
      await expectError(await call("/v1/avatars", { ip, auth: unknownKey(`a${i}`) }), 401, { type: "authentication", code: "api_key.invalid" });
    }
    const before = counted.counter.queries;
    for (let i = 3; i < 8; i++) {
      const res = await call("/v1/avatars", { ip, auth: unknownKey(`a${i}`) });
      expect(res.headers.get("Retry-After")).toBe("50");
      await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    }
    expect(counted.counter.queries - before).toBe(0);
  });

  it("a repeated unknown key is looked up once", async () => {
    const ip = "198.51.100.2";
    const settings = { AUTH_FAILURES_PER_MINUTE: "100" };
    await expectError(await call("/v1/avatars", { ip, auth: unknownKey("repeat"), settings }), 401, { type: "authentication", code: "api_key.invalid" });
    const first = counted.counter.queries;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      await expectError(await call("/v1/avatars", { ip, auth: unknownKey("repeat"), settings }), 401, { type: "authentication", code: "api_key.invalid" });
    }
    expect(counted.counter.queries).toBe(first);
  });

  it("malformed keys count too, and another address is not affected", async () => {
    const ip = "198.51.100.3";
    for (let i = 0; i < 3; i++)
      await expectError(await call("/v1/avatars", { ip, auth: `av_test_short${i}` }), 401, { type: "authentication", code: "api_key.invalid" });
    await expectError(await call("/v1/avatars", { ip, auth: "av_test_short9" }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect((await call("/v1/avatars", { ip: "198.51.100.4", auth: KEYS.demo })).status).toBe(200);
  });

  it("IPv6 addresses of one /64 share the count; another /64 does not", async () => {
    const hosts = ["2001:db8:aa:1::1", "2001:db8:aa:1::2", "2001:DB8:AA:1:ffff::3"];
    for (const [i, ip] of hosts.entries()) {
      await expectError(await call("/v1/avatars", { ip, auth: unknownKey(`v6${i}`) }), 401, { type: "authentication", code: "api_key.invalid" });
    }
    await expectError(await call("/v1/avatars", { ip: "2001:db8:aa:1:0:0:0:99", auth: unknownKey("v63") }), 429, {
      type: "rate_limit",
      code: "rate_limit.exceeded",
    });
    await expectError(await call("/v1/avatars", { ip: "2001:db8:aa:2::1", auth: unknownKey("v64") }), 401, { type: "authentication", code: "api_key.invalid" });
  });

  it("a key this location has verified still works from a refused address; one it has not is refused before its lookup", async () => {
    const ip = "198.51.100.5";
    const { key: known } = await addKey("org_demo", "knownBeforeFlood");
    const { key: fresh } = await addKey("org_demo", "freshAfterFlood");
    expect((await call("/v1/avatars", { ip, auth: known })).status).toBe(200);
    for (let i = 0; i < 3; i++) await call("/v1/avatars", { ip, auth: unknownKey(`k${i}`) });
    expect((await call("/v1/avatars", { ip, auth: known })).status).toBe(200);
    await expectError(await call("/v1/avatars", { ip, auth: fresh }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
  });

  it("the refusal ends with the minute", async () => {
    const ip = "198.51.100.6";
    for (let i = 0; i < 4; i++) await call("/v1/avatars", { ip, auth: unknownKey(`m${i}`) });
    await expectError(await call("/v1/avatars", { ip, auth: KEYS.other }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    vi.setSystemTime(MINUTE + 61_000);
    expect((await call("/v1/avatars", { ip, auth: KEYS.other })).status).toBe(200);
  });

  it("client secrets and forged JWTs count; expired JWTs and missing credentials do not", async () => {
    const ip = "198.51.100.7";
    const missing = await call("/v1/avatars", { ip });
    await expectError(missing, 401, { type: "authentication", code: "api_key.missing" });
    const expired = await userJwt({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    for (let i = 0; i < 4; i++) await expectError(await call("/v1/api-keys", { ip, auth: expired }), 401, { type: "authentication", code: "jwt.expired" });
    await expectError(await call("/v1/conversations/conv_x/ws", { ip, query: "?token=cs_nope.nope" }), 401, {
      type: "authentication",
      code: "client_secret.invalid",
      param: "token",
    });
    await expectError(await call("/v1/api-keys", { ip, auth: await userJwt({}, { secret: "not-the-secret-0123456789abcdef0123456789" }) }), 401, {
      type: "authentication",
      code: "jwt.invalid",
    });
    await expectError(await call("/v1/conversations/conv_x/ws", { ip, query: "?token=cs_nope.again" }), 401, {
      type: "authentication",
      code: "client_secret.invalid",
      param: "token",
    });
    await expectError(await call("/v1/conversations/conv_x/ws", { ip, query: "?token=cs_nope.third" }), 429, {
      type: "rate_limit",
      code: "rate_limit.exceeded",
    });
    await expectError(await call("/v1/api-keys", { ip, auth: await userJwt() }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
  });
});

describe("per-address limits of public routes", () => {
  it("count IPv6 clients per /64", async () => {
    const settings = { PUBLIC_RATE_LIMIT_PER_MINUTE: "2" };
    expect((await call("/v1/openapi.json", { ip: "2001:db8:bb:1::1", settings })).status).toBe(200);
    expect((await call("/v1/openapi.json", { ip: "2001:db8:bb:1::2", settings })).status).toBe(200);
    await expectError(await call("/v1/openapi.json", { ip: "2001:db8:bb:1:0::3", settings }), 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect((await call("/v1/openapi.json", { ip: "2001:db8:bb:2::1", settings })).status).toBe(200);
  });
});
