// @ts-check
// The settings .dev.vars.example documents, and a way to pin all of them for a run that must not
// depend on the developer's own .dev.vars (tests, the benchmark): wrangler loads .dev.vars into every
// Worker it configures, so each documented setting gets an explicit value instead.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WRANGLER_TOML = join(ROOT, "wrangler.toml");

/** Every setting documented in .dev.vars.example, set (`NAME=value`) or commented out (`# NAME=value`). */
export function documentedSettings() {
  const text = readFileSync(join(ROOT, ".dev.vars.example"), "utf8");
  return [...new Set(Array.from(text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm), (m) => m[1] ?? ""))];
}

/**
 * Every documented setting: its value in `pinned`, else its wrangler.toml [vars] value, else ""
 * (which src/config.ts reads as "not set").
 * @param {Record<string, string>} pinned
 * @returns {Record<string, string>}
 */
export function pinSettings(pinned) {
  const vars = /** @type {Record<string, string>} */ (unstable_readConfig({ config: WRANGLER_TOML }).vars);
  return Object.fromEntries(documentedSettings().map((name) => [name, pinned[name] ?? vars[name] ?? ""]));
}
