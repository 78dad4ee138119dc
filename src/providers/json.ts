/**
 * Reading upstream JSON, which is untrusted: any value may be missing or of another type, so
 * nothing is cast. Each accessor follows `path` through objects (never into arrays, never through
 * `null`) and gives the value only when it has the asked type, else `undefined`:
 * `str(body, "error", "message")` is `body.error.message` when that is a string.
 */

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** The value at `path`, whatever its type. */
export function at(value: unknown, ...path: readonly string[]): unknown {
  let here = value;
  for (const key of path) {
    if (!isObject(here)) return undefined;
    here = here[key];
  }
  return here;
}

export function obj(value: unknown, ...path: readonly string[]): JsonObject | undefined {
  const found = at(value, ...path);
  return isObject(found) ? found : undefined;
}

export function arr(value: unknown, ...path: readonly string[]): unknown[] | undefined {
  const found = at(value, ...path);
  return Array.isArray(found) ? found : undefined;
}

/** Any string, the empty one included. */
export function str(value: unknown, ...path: readonly string[]): string | undefined {
  const found = at(value, ...path);
  return typeof found === "string" ? found : undefined;
}

/** A string with something in it besides white space, trimmed: a name, a code, a message. */
export function filled(value: unknown, ...path: readonly string[]): string | undefined {
  const found = str(value, ...path)?.trim();
  return found === "" ? undefined : found;
}

/** A finite number. */
export function num(value: unknown, ...path: readonly string[]): number | undefined {
  const found = at(value, ...path);
  return typeof found === "number" && Number.isFinite(found) ? found : undefined;
}

/** A finite number that is not negative: a count of tokens, bytes, characters. */
export function count(value: unknown, ...path: readonly string[]): number | undefined {
  const found = num(value, ...path);
  return found !== undefined && found >= 0 ? found : undefined;
}

/** A list of strings only. */
export function strings(value: unknown, ...path: readonly string[]): string[] | undefined {
  const found = arr(value, ...path);
  return found?.every((item) => typeof item === "string") ? (found as string[]) : undefined;
}

/** A list of finite numbers only. */
export function numbers(value: unknown, ...path: readonly string[]): number[] | undefined {
  const found = arr(value, ...path);
  return found?.every((item) => typeof item === "number" && Number.isFinite(item)) ? (found as number[]) : undefined;
}

/** JSON text as a value, or `undefined` when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
