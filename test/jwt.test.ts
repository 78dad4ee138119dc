import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { userJwt } from "./helpers/auth";
import { api, BASE, expectError, KEYS } from "./helpers/http";

afterEach(() => vi.restoreAllMocks());

const listKeys = (token: string | null) => api("/v1/api-keys", { key: token });

describe("user JWTs (HS256 with JWT_SECRET)", () => {
  it("a valid token lists its org's keys", async () => {
    const res = await listKeys(await userJwt({ org_id: "org_demo" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { id: string }[] };
    expect(body.data.map((k) => k.id)).toEqual(["key_demo"]);
  });

  it("missing is jwt.missing, malformed is jwt.invalid", async () => {
    await expectError(await listKeys(null), 401, { type: "authentication", code: "jwt.missing" });
    await expectError(await api("/v1/api-keys", { key: null, headers: { Authorization: "Token abc" } }), 401, { type: "authentication", code: "jwt.invalid" });
    await expectError(await listKeys("not.a.jwt"), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("an expired token is jwt.expired", async () => {
    const token = await userJwt({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    await expectError(await listKeys(token), 401, { type: "authentication", code: "jwt.expired" });
  });

  it("a token signed with another secret is jwt.invalid", async () => {
    await expectError(await listKeys(await userJwt({}, { secret: "not-the-secret-0123456789abcdef0123456789" })), 401, {
      type: "authentication",
      code: "jwt.invalid",
    });
  });

  it("a token with a changed payload is jwt.invalid", async () => {
    const [header, , signature] = (await userJwt({ org_id: "org_free" })).split(".");
    const forged = btoa(JSON.stringify({ sub: "user_test", org_id: "org_demo", exp: Math.floor(Date.now() / 1000) + 600 }))
      .replaceAll("=", "")
      .replaceAll("+", "-")
      .replaceAll("/", "_");
    await expectError(await listKeys(`${header}.${forged}.${signature}`), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("alg none is refused", async () => {
    const body = btoa(JSON.stringify({ sub: "u", org_id: "org_demo", exp: Math.floor(Date.now() / 1000) + 600 })).replaceAll("=", "");
    await expectError(await listKeys(`eyJhbGciOiJub25lIn0.${body}.`), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("each missing required claim is jwt.invalid naming it", async () => {
    const secret = new TextEncoder().encode(env.JWT_SECRET);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const cases: [string, Record<string, unknown>][] = [
      ["sub", { org_id: "org_demo", exp }],
      ["org_id", { sub: "u", exp }],
      ["exp", { sub: "u", org_id: "org_demo" }],
    ];
    for (const [claim, payload] of cases) {
      const token = await new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).setIssuedAt().sign(secret);
      const error = await expectError(await listKeys(token), 401, { type: "authentication", code: "jwt.invalid" });
      expect(error.message).toContain(claim);
    }
    await expectError(await listKeys(await userJwt({ org_id: 42 })), 401, { type: "authentication", code: "jwt.invalid" });
    await expectError(await listKeys(await userJwt({ org_id: "has spaces" })), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("iat is required", async () => {
    const secret = new TextEncoder().encode(env.JWT_SECRET);
    const token = await new SignJWT({ sub: "u", org_id: "org_demo" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("10m").sign(secret);
    const error = await expectError(await listKeys(token), 401, { type: "authentication", code: "jwt.invalid" });
    expect(error.message).toContain("iat");
  });

  it("a token issued more than a day ago is jwt.expired, whatever its exp says", async () => {
    const secret = new TextEncoder().encode(env.JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number) =>
      new SignJWT({ sub: "u", org_id: "org_demo" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(iat)
        .setExpirationTime(now + 365 * 86_400)
        .sign(secret);
    const error = await expectError(await listKeys(await sign(now - 86_400 - 5)), 401, { type: "authentication", code: "jwt.expired" });
    expect(error.message).toContain("86400 seconds");
    expect((await listKeys(await sign(now - 86_400 + 60))).status).toBe(200);
  });

  it("JWT_MAX_AGE_SECONDS sets the age", async () => {
    const token = await new SignJWT({ sub: "u", org_id: "org_demo" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    const call = (maxAge: string) =>
      createApp().fetch(
        new Request(`${BASE}/v1/api-keys`, { headers: { Authorization: `Bearer ${token}` } }),
        { ...env, JWT_MAX_AGE_SECONDS: maxAge },
        createExecutionContext(),
      );
    await expectError(await call("60"), 401, { type: "authentication", code: "jwt.expired" });
    expect((await call("300")).status).toBe(200);
  });

  it("iat in the future beyond a minute of clock skew is jwt.invalid", async () => {
    const secret = new TextEncoder().encode(env.JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number) =>
      new SignJWT({ sub: "u", org_id: "org_demo" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(iat)
        .setExpirationTime(now + 600)
        .sign(secret);
    const error = await expectError(await listKeys(await sign(now + 120)), 401, { type: "authentication", code: "jwt.invalid" });
    expect(error.message).toContain("iat");
    expect((await listKeys(await sign(now + 30))).status).toBe(200);
  });

  it("the first token of an unknown org creates it on the free tier", async () => {
    const token = await userJwt({ org_id: "org_from_idp", org_name: "From the IdP" });
    const res = await listKeys(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
    expect(res.headers.get("X-RateLimit-Limit")).toBe("10");
    const org = await env.DB.prepare("SELECT id, name, tier FROM orgs WHERE id = 'org_from_idp'").first();
    expect(org).toEqual({ id: "org_from_idp", name: "From the IdP", tier: "free" });
    expect((await listKeys(token)).status).toBe(200);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM orgs WHERE id = 'org_from_idp'").first<{ n: number }>())?.n).toBe(1);
  });
});

describe("the wrong kind of credential", () => {
  it("an API key on a JWT endpoint is 403 api_key.wrong_kind", async () => {
    await expectError(await listKeys(KEYS.demo), 403, { type: "permission", code: "api_key.wrong_kind" });
    await expectError(await api("/v1/api-keys", { method: "POST", key: KEYS.demo, body: "{}" }), 403, { type: "permission", code: "api_key.wrong_kind" });
  });

  it("a JWT on an API-key endpoint is 403 api_key.wrong_kind", async () => {
    const token = await userJwt();
    await expectError(await api("/v1/avatars", { key: token }), 403, { type: "permission", code: "api_key.wrong_kind" });
    await expectError(await api("/v1/avatars/av_demo", { key: token }), 403, { type: "permission", code: "api_key.wrong_kind" });
  });
});

describe("JWKS (RS256 / ES256 from an identity provider)", () => {
  // jose caches each key set per URL (and refetches an unknown kid at most every 30 s), so every test
  // gets an identity provider at its own URL.
  let JWKS_URL = "";
  let idpCount = 0;

  async function idp(alg: "RS256" | "ES256") {
    idpCount += 1;
    JWKS_URL = `https://idp.test/${idpCount}/.well-known/jwks.json`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: `kid-${alg}`, alg, use: "sig" };
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url === JWKS_URL) return Response.json({ keys: [jwk] });
      throw new Error(`unexpected fetch ${url}`);
    });
    const sign = (claims: Record<string, unknown>, kid = jwk.kid) =>
      new SignJWT({ sub: "user_idp", org_id: "org_demo", iss: "https://idp.test/", aud: "avatar-api", ...claims })
        .setProtectedHeader({ alg, kid })
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(privateKey);
    return { sign, fetchSpy };
  }

  const call = (token: string, overrides: Record<string, string> = {}) =>
    createApp().fetch(
      new Request(`${BASE}/v1/api-keys`, { headers: { Authorization: `Bearer ${token}` } }),
      { ...env, JWT_JWKS_URL: JWKS_URL, JWT_ISSUER: "https://idp.test/", JWT_AUDIENCE: "avatar-api", ...overrides },
      createExecutionContext(),
    );

  for (const alg of ["RS256", "ES256"] as const) {
    it(`accepts ${alg} tokens signed by a key of the JWKS`, async () => {
      const { sign, fetchSpy } = await idp(alg);
      const res = await call(await sign({}));
      expect(res.status).toBe(200);
      expect(fetchSpy).toHaveBeenCalled();
    });
  }

  it("refuses HS256 tokens once a JWKS is configured", async () => {
    await idp("RS256");
    await expectError(await call(await userJwt()), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("checks iss and aud when configured", async () => {
    const { sign } = await idp("ES256");
    const wrongIssuer = await call(await sign({ iss: "https://evil.test/" }));
    const error = await expectError(wrongIssuer, 401, { type: "authentication", code: "jwt.invalid" });
    expect(error.message).toContain("iss");
    const token = await sign({});
    await expectError(await call(token, { JWT_AUDIENCE: "someone-else" }), 401, { type: "authentication", code: "jwt.invalid" });
  });

  it("without an audience a JWKS is refused: 503 config.invalid, even for an IdP's valid token naming an existing org", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { sign, fetchSpy } = await idp("RS256");
    // A token the same identity provider made for another application, naming org_demo.
    const token = await sign({ aud: "another-app" });
    const res = await call(token, { JWT_AUDIENCE: "" });
    const error = await expectError(res, 503, { type: "service_unavailable", code: "config.invalid" });
    expect(error.message).not.toContain("idp.test");
    expect(fetchSpy).not.toHaveBeenCalled();
    // The API's own routes are not affected by a key-management setting.
    const avatars = await createApp().fetch(
      new Request(`${BASE}/v1/avatars/av_demo`, { headers: { Authorization: `Bearer ${KEYS.demo}` } }),
      { ...env, JWT_JWKS_URL: JWKS_URL, JWT_AUDIENCE: "" },
      createExecutionContext(),
    );
    expect(avatars.status).toBe(200);
  });

  it("a token for another application of the same identity provider is jwt.invalid", async () => {
    const { sign } = await idp("ES256");
    const error = await expectError(await call(await sign({ aud: "another-app" })), 401, { type: "authentication", code: "jwt.invalid" });
    expect(error.message).toContain("aud");
  });

  it("an unknown kid is jwt.invalid", async () => {
    const { sign } = await idp("RS256");
    await expectError(await call(await sign({}, "kid-unknown")), 401, { type: "authentication", code: "jwt.invalid" });
  });

  const foreignToken = async () =>
    new SignJWT({ sub: "u", org_id: "org_demo" })
      .setProtectedHeader({ alg: "RS256", kid: "kid-elsewhere" })
      .setExpirationTime("10m")
      .sign((await generateKeyPair("RS256")).privateKey);

  it("a JWKS answering 5xx is 503 jwt.jwks_unavailable, without leaking the URL", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("upstream down", { status: 502 }));
    const res = await call(await foreignToken(), { JWT_JWKS_URL: "https://idp-down.test/jwks.json" });
    const error = await expectError(res, 503, { type: "service_unavailable", code: "jwt.jwks_unavailable" });
    expect(error.message).not.toContain("idp-down");
  });

  it("a JWKS that never answers is 503 after the 3 s timeout, not a hang", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    let aborted = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => {
            aborted = true;
            reject(init.signal?.reason);
          });
        }),
    );
    const started = Date.now();
    const res = await call(await foreignToken(), { JWT_JWKS_URL: "https://idp-silent.test/jwks.json" });
    const elapsed = Date.now() - started;
    const error = await expectError(res, 503, { type: "service_unavailable", code: "jwt.jwks_unavailable" });
    expect(error.message).not.toContain("idp-silent");
    expect(aborted).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(6000);
  }, 10_000);
});
