// @ts-check
// Loads the local seed into a D1 database and an R2 bucket. Portable on purpose: Node (`npm start`,
// the benchmark, through Miniflare's bindings) and the test pool (inside workerd) call the same code.

/**
 * @typedef {{ statements: string[], models: { key: string, base64: string }[] }} Seed
 * @typedef {{ prepare(sql: string): unknown, batch(statements: any[]): Promise<unknown> }} SeedDb
 * @typedef {{ put(key: string, value: Uint8Array): Promise<unknown> }} SeedBucket
 */

/** @param {string} base64 */
const decodeBase64 = (base64) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/**
 * D1 rows in one batch (one transaction), then the model files.
 * @param {{ db: SeedDb, bucket: SeedBucket }} target
 * @param {Seed} seed
 */
export async function applySeed(target, seed) {
  await target.db.batch(seed.statements.map((s) => target.db.prepare(s)));
  // A fresh Uint8Array per file: Node's pooled Buffers do not cross into workerd.
  for (const { key, base64 } of seed.models) await target.bucket.put(key, decodeBase64(base64));
}
