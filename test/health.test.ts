import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import { api } from "./helpers/http";

describe("GET /health and /v1/health", () => {
  for (const path of ["/health", "/v1/health"]) {
    it(`${path} answers without auth`, async () => {
      const before = Date.now();
      const res = await api(path, { key: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("application/json");
      expect(res.headers.get("X-Request-Id")).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
      const body = (await res.json()) as { status: string; version: string; time: string };
      expect(Object.keys(body)).toEqual(["status", "version", "time"]);
      expect(body.status).toBe("ok");
      expect(body.version).toBe(pkg.version);
      expect(body.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Date.parse(body.time)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    });
  }
});
