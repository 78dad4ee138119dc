import { describe, expect, it } from "vitest";
import { fillSchema, MAX_GENERATED_VALUES } from "../../src/providers/llm/mock";
import { deduplicated, leafCount, nested } from "./schema-fixtures";

/**
 * The mock model's schema filler (`fillSchema`) called directly: every schema, however hostile,
 * costs bounded work, counted (how many values it generated, how many fills it attempted). The same
 * schemas through HTTP, streamed or not, are in test/llm.mock.schema.test.ts (Workers project).
 */

/** Fills past the budget: a null where a value was owed per level of the stack at most. */
const MAX_VISITS = MAX_GENERATED_VALUES + 10;
/** Output bound: each value is at most 100 copied characters, plus punctuation and short keys. */
const MAX_OUTPUT_CHARS = MAX_GENERATED_VALUES * 200;

/** `levels` arrays nested in arrays, each asking for `minItems`, around `leaf`. */
const arrays = (levels: number, leaf: unknown, minItems = 1_000_000_000): unknown =>
  levels === 0 ? leaf : { type: "array", minItems, items: arrays(levels - 1, leaf, minItems) };

/** `anyOf` inside `anyOf`, `levels` deep (built in a loop: the test's own stack is small too). */
const anyOfChain = (levels: number): unknown => {
  let schema: unknown = { type: "integer" };
  for (let i = 0; i < levels; i++) schema = { anyOf: [schema, { type: "string" }] };
  return schema;
};

const deepArray = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};

/** Hostile schemas, and the words of the message when they matter. */
const HOSTILE: [string, unknown, string[]?][] = [
  ["nine levels requiring 'a' six times", nested(9, 6)],
  ["nine levels requiring 'a' eight times", nested(9, 8)],
  // Kept small enough that a filler without de-duplication fails (a million fills) rather than hangs.
  ["three levels requiring 'a' a hundred times", nested(3, 100)],
  [
    "5,000 required properties",
    {
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`p${i}`, { type: "integer" }])),
      required: Array.from({ length: 5_000 }, (_, i) => `p${i}`),
    },
  ],
  [
    "50,000 required names, none described, with non-strings among them",
    { type: "object", required: [...Array.from({ length: 50_000 }, (_, i) => `n${i}`), 1, null, {}, ["x"]] },
  ],
  ["arrays nested eight deep asking for a billion items each", arrays(8, { type: "integer" })],
  ["arrays of objects requiring 'a' eight times", arrays(4, nested(5, 8), 5)],
  ["an anyOf chain 10,000 deep in nested arrays", arrays(4, anyOfChain(10_000), 5)],
  ["a oneOf of 100,000 alternatives in nested arrays", arrays(5, { oneOf: Array.from({ length: 100_000 }, () => ({ type: "object", required: ["x"] })) }, 5)],
  ["an enum of 100,000 values in nested arrays", arrays(5, { type: "string", enum: Array.from({ length: 100_000 }, (_, i) => `v${i}`) }, 5)],
  ["a type list of 100,000 entries in nested arrays", arrays(6, { type: [...Array<null>(100_000).fill(null), "string"] }, 5)],
  ["a const of 100,000 values in nested arrays", arrays(4, { const: Array.from({ length: 100_000 }, (_, i) => i) }, 5)],
  ["a const string of 1 MB in nested arrays", arrays(4, { const: "x".repeat(1_000_000) }, 5)],
  ["a const nested 100,000 deep", arrays(3, { const: deepArray(100_000) }, 5)],
  ["an enum whose first value is an object of 100,000 keys", { enum: [Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))] }],
  [
    "required names of 10,000 characters in nested arrays",
    arrays(3, { type: "object", properties: {}, required: ["a", "b", "c"].map((c) => c.repeat(10_000)) }, 5),
  ],
  ["a required name of 1 MB", { type: "object", properties: {}, required: ["k".repeat(1_000_000)] }],
  [
    "numbers under a 50,000-character property name, in nested arrays",
    { type: "object", required: ["k".repeat(50_000)], properties: { ["k".repeat(50_000)]: arrays(6, { type: "integer" }, 5) } },
  ],
  ["strings from a word of 1 MB, in nested arrays", arrays(4, { type: "string" }, 5), ["x".repeat(1_000_000)]],
  ["strings from words of 5,000 characters, in nested arrays", arrays(4, { type: "string" }, 5), ["x".repeat(5_000), "y".repeat(5_000)]],
  ["tuple items in nested arrays", arrays(4, { type: "array", minItems: 3, items: Array.from({ length: 100_000 }, () => ({ type: "integer" })) }, 5)],
  [
    "a recursive $ref in nested arrays",
    arrays(5, { type: "object", properties: { next: { $ref: "#" } }, required: ["next"], $defs: { loop: { $ref: "#/$defs/loop" } } }, 5),
  ],
];

describe("mock provider: every schema costs bounded work", () => {
  it("fills the finding's schema in ten fills instead of millions", () => {
    for (const copies of [6, 8]) {
      const { value, visits } = fillSchema(nested(9, copies));
      expect(value).toEqual(deduplicated(9));
      // The root, eight nested objects, and the null past the depth cap. The old filler made 6^9 (8^9).
      expect(visits).toBe(10);
    }
  });

  for (const [what, schema, words = ["Alice", "Lisbon"]] of HOSTILE) {
    it(`bounds ${what}`, () => {
      const { value, generated, visits } = fillSchema(schema, words);
      expect(generated).toBeLessThanOrEqual(MAX_GENERATED_VALUES);
      expect(visits).toBeLessThanOrEqual(MAX_VISITS);
      expect(leafCount(value)).toBeLessThanOrEqual(MAX_GENERATED_VALUES);
      expect((JSON.stringify(value) ?? "").length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    });
  }

  it("fills each required name once, in order, skipping entries that are not names; const and enum values as given", () => {
    const point = { x: 1, y: [2, 3], label: "origin" };
    const schema = {
      type: "object",
      properties: {
        b: { type: "integer", minimum: 7, maximum: 7 },
        p: { const: point },
        e: { enum: [point, "other"] },
        f: { type: "array", minItems: 2, items: { const: "fixed" } },
      },
      required: ["a", 3, "b", "a", null, "b", "c", "p", "e", "f", "p"],
    };
    const { value, visits } = fillSchema(schema, ["Alice", "Lisbon"]);
    // The first "a" gets the first word: a repeated name is not filled again (and never overwrites).
    expect(value).toEqual({ a: "Alice", b: 7, c: "Lisbon", p: point, e: point, f: ["fixed", "fixed"] });
    expect(visits).toBe(9);
  });

  it("writes a string for any format, never a property of Object.prototype", () => {
    for (const format of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(fillSchema({ type: "string", format }, ["Alice"]).value).toBe("Alice");
    }
    expect(fillSchema({ type: "string", format: "date" }).value).toBe("2025-01-15");
  });
});
