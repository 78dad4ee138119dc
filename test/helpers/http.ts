import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const KEYS = {
  demo: "av_test_demo00000000000000000000000000000000",
  free: "av_test_free00000000000000000000000000000000",
  other: "av_test_other0000000000000000000000000000000",
} as const;

export const BASE = "https://api.test";

/** Calls the worker's default export in the Workers runtime, as a client would over HTTP. */
export function api(path: string, init: RequestInit & { key?: string | null } = {}) {
  const { key = KEYS.demo, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key !== null && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${key}`);
  return exports.default.fetch(new Request(new URL(path, BASE), { ...rest, headers }));
}

export interface ErrorBody {
  error: { type: string; code: string; message: string; param?: string; request_id: string };
}

/** Asserts the status and the envelope, and that `request_id` is the response's X-Request-Id. */
export async function expectError(res: Response, status: number, expected: { type: string; code: string; param?: string }) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = (await res.json()) as ErrorBody;
  expect(body.error).toMatchObject(expected);
  if (!("param" in expected)) expect(body.error.param).toBeUndefined();
  expect(typeof body.error.message).toBe("string");
  expect(body.error.request_id).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(res.headers.get("X-Request-Id")).toBe(body.error.request_id);
  return body.error;
}
