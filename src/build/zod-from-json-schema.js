// Stands in for zod's `v4/classic/from-json-schema.js` in the deployed bundle (wrangler.toml
// [alias]): zod's classic entry re-exports `fromJSONSchema` and @hono/zod-openapi passes the `z`
// namespace around as a value, so esbuild keeps it (~12 KiB minified) although this API never turns
// a JSON Schema into a zod schema (tool parameters are JSON Schemas it passes on, not validates).
export function fromJSONSchema() {
  throw new Error("zod's fromJSONSchema is not in this bundle (src/build/zod-from-json-schema.js)");
}
