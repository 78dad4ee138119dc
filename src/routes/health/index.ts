import { type OpenAPIHono, z } from "@hono/zod-openapi";
import pkg from "../../../package.json";
import type { AppEnv } from "../../env";
import { jsonResponse } from "../../lib/openapi";
import { isoSeconds } from "../../lib/time";
import { defineRoute } from "../define-route";

const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: pkg.version }),
    time: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Health");

const health = (path: string) =>
  defineRoute("unmetered", {
    method: "get",
    path,
    tags: ["Health"],
    summary: "Liveness",
    responses: { 200: jsonResponse(HealthSchema, "The API is up.", false) },
  });

export const registerHealth = (app: OpenAPIHono<AppEnv>) => {
  for (const path of ["/health", "/v1/health"]) {
    app.openapi(health(path), (c) => c.json({ status: "ok" as const, version: pkg.version, time: isoSeconds(Date.now()) }, 200));
  }
};
