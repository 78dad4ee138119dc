// Stands in for zod's `v4/locales/index.js` in the deployed bundle (wrangler.toml [alias]).
// zod re-exports every locale as a namespace (`export * as locales`) from both its classic and core
// entries, and @hono/zod-openapi passes the `z` namespace around as a value, so esbuild must keep all
// of them: ~250 KiB of minified code, a quarter of the Worker, for messages this API never shows
// (its validation messages are its own, in English). zod itself only ever loads `en`
// (`config(en())`, imported directly, not through this file). See colinhacks/zod#6050.
export { default as en } from "zod/v4/locales/en.js";
