import { z } from "@hono/zod-openapi";
import { ApiError, quote } from "./errors";

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a JSON object",
  array: "a list",
  record: "a JSON object",
};

const quoteAll = (values: readonly unknown[]) => values.map((v) => `'${String(v)}'`).join(", ");

/**
 * Messages in the caller's terms ("must be an integer from 1 to 100"), not zod's ("expected number,
 * received NaN"). Installed as zod's global error map, so a schema's own message still wins.
 */
export function describeIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (Array.isArray(issue.input) && issue.expected !== "array") return `must be ${expected}, not a list`;
      return `must be ${expected}`;
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "string") return min <= 1 ? "must not be empty" : `must be at least ${min} characters`;
      if (issue.origin === "array") return `must have at least ${min} item${min === 1 ? "" : "s"}`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "string") return `must be at most ${max} characters`;
      if (issue.origin === "array") return `must have at most ${max} items`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case "invalid_value":
      return issue.values.length === 1 ? `must be ${quoteAll(issue.values)}` : `must be one of ${quoteAll(issue.values)}`;
    case "invalid_format":
      return issue.format === "regex" ? "is not in the expected format" : `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "invalid_union":
      return "does not match any of the accepted forms";
    default:
      return undefined;
  }
}

z.config({ customError: describeIssue });

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
  if (!issue) return new ApiError("parameter.invalid", "The request is invalid.");
  const path = issue.path.map(String);

  if (issue.code === "unrecognized_keys") {
    const param = [...path, issue.keys[0] ?? ""].join(".");
    return new ApiError("parameter.unknown", `Unknown parameter ${quote(param)}.`, { param });
  }

  const param = path.join(".");
  if (param !== "" && valueAt(data, issue.path) === undefined) {
    return new ApiError("parameter.missing", `Missing required parameter ${quote(param)}.`, { param });
  }
  if (param === "") return new ApiError("parameter.invalid", `The request body ${issue.message}.`);
  return new ApiError("parameter.invalid", `${quote(param)} ${issue.message}.`, { param });
}

/** OpenAPIHono's defaultHook: every failed request schema throws the envelope instead of zod's JSON. */
type HookResult = { success: true; data: unknown } | { success: false; error: { issues: readonly Issue[] } };

export const validationHook = (result: HookResult) => {
  // @hono/zod-validator passes the raw input as `data` on failure too; its types only say so on success.
  if (!result.success) throw validationError(result.error.issues, (result as { data?: unknown }).data);
};
