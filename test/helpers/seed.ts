import type { D1Migration } from "cloudflare:test";
import type { Seed } from "../../src/cli/apply-seed.mjs";

export const decodeBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The setting names .dev.vars.example documents (test/node/settings.ts). */
      TEST_DOCUMENTED_SETTINGS: string[];
      TEST_SEED: Seed;
    }
  }
}
