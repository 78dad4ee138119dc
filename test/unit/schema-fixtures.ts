/**
 * Schemas for the mock model's filler (src/providers/llm/mock.ts), shared by the unit tests of the
 * filler (llm.mock.schema.test.ts here) and the Workers test that sends them through HTTP
 * (test/llm.mock.schema.test.ts).
 */

export type Schema = Record<string, unknown>;

/** `levels` objects nested through property `a`, each requiring "a" `copies` times; a string at the bottom. */
export const nested = (levels: number, copies: number): Schema =>
  levels === 0 ? { type: "string" } : { type: "object", properties: { a: nested(levels - 1, copies) }, required: Array<string>(copies).fill("a") };

/** What `nested(levels, _)` fills to: one `a` per level; the value past the depth cap (8) is null. */
export const deduplicated = (levels: number): unknown => (levels === 0 ? null : { a: deduplicated(levels - 1) });

/** Leaves of a JSON value (everything but objects and arrays), counted without recursion. */
export function leafCount(value: unknown): number {
  let count = 0;
  const pending = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (Array.isArray(item)) pending.push(...(item as unknown[]));
    else if (typeof item === "object" && item !== null) pending.push(...Object.values(item));
    else count++;
  }
  return count;
}
