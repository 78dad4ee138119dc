import type { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";

type Issue = z.core.$ZodIssue;

const valueAt = (data: unknown, path: readonly PropertyKey[]): unknown => {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
};

/**
 * Turns the first zod issue into the contract's `400 invalid_request`: `param` is the dotted path of
 * the failing field, and the code says whether it was missing, invalid, or not part of the schema.
 */
export function validationError(issues: readonly Issue[], data: unknown): ApiError {
  // An unknown field is reported first: it is usually a typo of the field that is also "missing".
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  if (!issue) return new ApiError("invalid_request", "parameter.invalid", "The request is invalid.");
  const path = issue.path.map(String);

  if (issue.code === "unrecognized_keys") {
    const param = [...path, issue.keys[0] ?? ""].join(".");
    return new ApiError("invalid_request", "parameter.unknown", `Unknown parameter '${param}'.`, { param });
  }

  const param = path.join(".");
  if (param !== "" && valueAt(data, issue.path) === undefined) {
    return new ApiError("invalid_request", "parameter.missing", `Missing required parameter '${param}'.`, { param });
  }
  const message = param === "" ? issue.message : `Invalid '${param}': ${issue.message}`;
  return new ApiError("invalid_request", "parameter.invalid", message, param === "" ? {} : { param });
}

/** OpenAPIHono's defaultHook: every failed request schema throws the envelope instead of zod's JSON. */
type HookResult = { success: true; data: unknown } | { success: false; error: { issues: readonly Issue[] } };

export const validationHook = (result: HookResult) => {
  // @hono/zod-validator passes the raw input as `data` on failure too; its types only say so on success.
  if (!result.success) throw validationError(result.error.issues, (result as { data?: unknown }).data);
};
