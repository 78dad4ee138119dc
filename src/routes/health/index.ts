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

const health = (path: string, operationId: string) =>
  defineRoute("unmetered", {
    method: "get",
    path,
    operationId,
    tags: ["Health"],
    summary: "Liveness",
    responses: { 200: jsonResponse(HealthSchema, "The API is up.") },
  });

export const registerHealth = (app: OpenAPIHono<AppEnv>) => {
  for (const [path, operationId] of [
    ["/health", "getHealth"],
    ["/v1/health", "getHealthV1"],
  ] as const) {
    app.openapi(health(path, operationId), (c) => c.json({ status: "ok" as const, version: pkg.version, time: isoSeconds(Date.now()) }, 200));
  }
};
