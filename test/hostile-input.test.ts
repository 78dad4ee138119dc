import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { userJwt } from "./helpers/auth";
import { api, BASE, KEYS } from "./helpers/http";

/**
 * Every path and query parameter of every operation in the OpenAPI document, fed values a hostile
 * or careless client sends. Whatever the route, the answer is never a 5xx (other than a documented
 * 503 of that route) and every error is the well-formed envelope. Generated from the document, so a
 * route added later is covered without touching this file.
 */

interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: "path" | "query" | "header"; required?: boolean; schema?: { example?: unknown } }[];
  responses: Record<string, { "x-error-codes"?: string[] }>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

/** Raw (already URL-encoded) values: a lone surrogate cannot go through encodeURIComponent. */
const HOSTILE: [label: string, encoded: string][] = [
  ["empty", ""],
  ["odd-length base64", "AAAAA"],
  ["one char", "A"],
  ["base64 padding", "AAAA%3D%3D"],
  ["non-base64", "%21%40%23%24%25%5E"],
  ["NUL", "%00"],
  ["control chars", "%01%02%1B%7F"],
  ["10 KB", "x".repeat(10_240)],
  ["unicode", encodeURIComponent("é漢字🙂")],
  ["lone surrogate", "%ED%A0%80"],
  ["invalid percent", "%zz"],
  ["truncated percent", "%E2%82"],
  ["negative", "-1"],
  ["huge number", "1e309"],
  ["max safe + 1", "9007199254740993"],
  ["NaN", "NaN"],
  ["null", "null"],
  ["JSON", encodeURIComponent('{"$gt":""}')],
  ["SQL", encodeURIComponent("' OR 1=1 --")],
  ["path traversal", encodeURIComponent("../../etc/passwd")],
  ["spaces", "%20%20"],
];

const ERROR_TYPES = new Set([
  "invalid_request",
  "authentication",
  "quota_exceeded",
  "permission",
  "not_found",
  "conflict",
  "unprocessable",
  "rate_limit",
  "internal",
  "service_unavailable",
]);

const BATCH = 24;

// Hundreds of requests from one address: the public routes' per-address limit is raised for this
// file only (a fresh address per request would create a limiter object per request instead).
const app = createApp();
const testEnv = { ...env, PUBLIC_RATE_LIMIT_PER_MINUTE: "1000000" };

async function expectWellFormed(res: Response, label: string, op: Operation) {
  const documented503 = new Set(op.responses["503"]?.["x-error-codes"] ?? []);
  const text = await res.text();
  if (res.status >= 500) {
    const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "";
    expect(res.status === 503 && documented503.has(code), `${label}: ${res.status} ${text.slice(0, 300)}`).toBe(true);
  }
  expect(res.headers.get("X-Request-Id"), label).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
  if (res.status >= 400) {
    expect(res.headers.get("Content-Type"), label).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { error: Record<string, unknown> };
    expect(ERROR_TYPES.has(String(body.error.type)), `${label}: ${text.slice(0, 200)}`).toBe(true);
    expect(body.error.code, label).toMatch(/^[a-z_]+(\.[a-z_]+)*$/);
    expect(typeof body.error.message, label).toBe("string");
    expect(body.error.request_id, label).toBe(res.headers.get("X-Request-Id"));
  }
}

describe("hostile path and query values on every documented operation", async () => {
  const doc = (await (await api("/v1/openapi.json", { key: null })).json()) as Doc;
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
  const jwt = await userJwt();

  it("the document has operations to attack", () => {
    expect(operations.length).toBeGreaterThan(10);
  });

  for (const { path, method, op } of operations) {
    const params = op.parameters ?? [];
    const pathParams = params.filter((p) => p.in === "path").map((p) => p.name);
    const queryParams = params.filter((p) => p.in === "query").map((p) => p.name);
    // The other parameters keep their documented example, so each hostile value reaches the code
    // behind validation (e.g. a bad signature next to a valid expiry reaches the HMAC check).
    const example = (name: string) => {
      const value = params.find((p) => p.name === name)?.schema?.example;
      return value === undefined ? undefined : encodeURIComponent(String(value));
    };
    const query = (name?: string, value?: string, twice = false) =>
      params
        .filter((p) => p.in === "query")
        .flatMap((p) =>
          p.name === name
            ? (twice ? [value, value] : [value]).map((v) => `${p.name}=${v}`)
            : example(p.name) === undefined
              ? []
              : [`${p.name}=${example(p.name)}`],
        )
        .join("&");
    const key = op.security?.some((s) => "userJwt" in s) ? jwt : op.security?.some((s) => "apiKey" in s) ? undefined : null;
    const call = async (url: string) => {
      const headers = new Headers({ "CF-Connecting-IP": "198.18.0.1", Authorization: `Bearer ${key ?? KEYS.demo}` });
      if (key === null) headers.delete("Authorization");
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(new URL(url, BASE), { method: method.toUpperCase(), headers }), testEnv, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    const fill = (template: string, name?: string, value?: string) =>
      template.replace(/\{(\w+)\}/g, (_, p: string) => (p === name ? (value ?? "") : (example(p) ?? "av_demo")));

    it(`${method.toUpperCase()} ${path}`, { timeout: 60_000 }, async () => {
      const cases: [label: string, url: string][] = [];
      for (const [label, value] of HOSTILE) {
        for (const name of pathParams) {
          // An empty segment makes another route's path; it is covered by that route.
          if (value !== "") cases.push([`${label} in path '${name}'`, `${fill(path, name, value)}?${query()}`]);
        }
        for (const name of queryParams) {
          cases.push([`${label} in query '${name}'`, `${fill(path)}?${query(name, value)}`]);
          cases.push([`${label} twice in query '${name}'`, `${fill(path)}?${query(name, value, true)}`]);
        }
        cases.push([`${label} as a query name`, `${fill(path)}?${value}=1`]);
      }
      // Concurrently, a batch at a time: the assertions are per response, the order is irrelevant.
      for (let i = 0; i < cases.length; i += BATCH) {
        await Promise.all(cases.slice(i, i + BATCH).map(async ([label, url]) => expectWellFormed(await call(url), label, op)));
      }
    });
  }
});
