import { describe, expect, it } from "vitest";
import { MAX_GENERATED_VALUES } from "../src/providers/llm/mock";
import { api, KEYS } from "./helpers/http";
import { deduplicated, leafCount, nested, type Schema } from "./unit/schema-fixtures";

/**
 * The mock model fills tool arguments and `json_schema` replies from the caller's schema; the work
 * must stay bounded whatever that schema is (hardening round two). Nine levels each requiring "a"
 * six times once cost 6^9 fills (about 1.3 s here, 3 s in the finding), eight times 8^9 (15-21 s),
 * and stalled the isolate meanwhile. Here the hostile schemas go through HTTP (tool arguments and
 * `json_schema` replies, streamed or not), with one generous wall-clock bound where the old code took
 * seconds; the filler itself, its work counted (`fillSchema` says how many values a schema cost and
 * how many fills were attempted), is tested in test/unit/llm.mock.schema.test.ts.
 */

// ---------------------------------------------------------------------------------------------
// Helpers

const post = (body: unknown) =>
  api("/v1/ai/chat/completions", { method: "POST", key: KEYS.demo, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

type Via = "tool" | "json_schema";

/** A request that makes the mock fill `schema`: as a tool `tool_choice` forces, or as the reply's format. */
function bodyFor(via: Via, schema: Schema, stream: boolean) {
  const base = { model: "mock:echo", stream, messages: [{ role: "user", content: "Fill in the form for Alice in Lisbon" }] };
  return via === "tool"
    ? {
        ...base,
        tools: [{ type: "function", function: { name: "fill_form", parameters: schema } }],
        tool_choice: { type: "function", function: { name: "fill_form" } },
      }
    : { ...base, response_format: { type: "json_schema", json_schema: { name: "form", schema } } };
}

interface Completion {
  choices: { message: { content: string | null; tool_calls?: { function: { name: string; arguments: string } }[] }; finish_reason: string }[];
}
interface Chunk {
  choices: { delta: { content?: string; tool_calls?: { function?: { arguments?: string } }[] }; finish_reason: string | null }[];
}

/** Sends the request and returns the filled JSON text (the tool's arguments or the content) and the finish reason. */
async function fill(via: Via, schema: Schema, stream: boolean): Promise<{ json: string; finish: string | undefined }> {
  const res = await post(bodyFor(via, schema, stream));
  expect(res.status).toBe(200);
  if (!stream) {
    const choice = ((await res.json()) as Completion).choices[0];
    const json = via === "tool" ? choice?.message.tool_calls?.[0]?.function.arguments : choice?.message.content;
    return { json: json ?? "", finish: choice?.finish_reason };
  }
  expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
  const data = (await res.text()).split("\n\n").flatMap((block) =>
    block
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6)),
  );
  expect(data.at(-1)).toBe("[DONE]");
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
  const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta));
  const json =
    via === "tool"
      ? deltas
          .flatMap((d) => d.tool_calls ?? [])
          .map((call) => call.function?.arguments ?? "")
          .join("")
      : deltas.map((d) => d.content ?? "").join("");
  return { json, finish: chunks.flatMap((c) => c.choices).find((choice) => choice.finish_reason !== null)?.finish_reason ?? undefined };
}

const VARIANTS = (["tool", "json_schema"] as const).flatMap((via) => [false, true].map((stream) => ({ via, stream })));

// ---------------------------------------------------------------------------------------------

describe("mock provider: the hostile schema of the finding, through HTTP", () => {
  for (const via of ["tool", "json_schema"] as const) {
    it(`fills nine levels each requiring 'a' six and eight times at once, de-duplicated (${via}, streamed or not)`, async () => {
      const started = Date.now();
      for (const copies of [6, 8]) {
        for (const stream of [false, true]) {
          const { json, finish } = await fill(via, nested(9, copies), stream);
          expect(finish).toBe(via === "tool" ? "tool_calls" : "stop");
          const value: unknown = JSON.parse(json);
          expect(value, `${copies} copies, stream ${stream}`).toEqual(deduplicated(9));
          expect(leafCount(value)).toBeLessThanOrEqual(MAX_GENERATED_VALUES);
        }
      }
      // Four requests: the old filler took about 2 x 1.3 s + 2 x 15 s for them; now each is milliseconds.
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  }

  it("fills a 5,000-property schema, every property required, within the cap", async () => {
    const names = Array.from({ length: 5_000 }, (_, i) => `field_${i}`);
    const wide = { type: "object", properties: Object.fromEntries(names.map((n) => [n, { type: "string" }])), required: names };
    for (const { via, stream } of VARIANTS) {
      const { json } = await fill(via, wide, stream);
      const value = JSON.parse(json) as Record<string, unknown>;
      const keys = Object.keys(value);
      // The first properties in order, then the rest left out once the budget is spent.
      expect(keys, `${via}, stream ${stream}`).toEqual(names.slice(0, keys.length));
      expect(keys.length).toBeGreaterThan(MAX_GENERATED_VALUES * 0.9);
      expect(leafCount(value)).toBeLessThanOrEqual(MAX_GENERATED_VALUES);
      for (const v of Object.values(value)) expect(typeof v).toBe("string");
    }
  });
});
