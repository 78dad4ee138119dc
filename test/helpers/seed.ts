import type { D1Migration } from "cloudflare:test";

export interface TestSeed {
  statements: string[];
  models: { key: string; base64: string }[];
}

export const decodeBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** The local seed, as `npm start` loads it: D1 rows in one batch, model files into R2. */
export async function loadSeed(env: { DB: D1Database; MODELS: R2Bucket; TEST_SEED: TestSeed }) {
  await env.DB.batch(env.TEST_SEED.statements.map((s) => env.DB.prepare(s)));
  for (const { key, base64 } of env.TEST_SEED.models) await env.MODELS.put(key, decodeBase64(base64));
}

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_SEED: TestSeed;
    }
  }
}
