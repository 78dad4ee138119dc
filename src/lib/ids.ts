import { monotonicFactory } from "ulid";

// ulid's default PRNG makes one crypto.getRandomValues call per character (16 per new millisecond,
// and in Workers every request starts a new one). The same CSPRNG bytes, drawn 256 at a time, cost
// one call per 16 ids. The pool is filled on first use: Workers forbid randomness at global scope.
const pool = new Uint8Array(256);
let next = pool.length;
const prng = () => {
  if (next === pool.length) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  return (pool[next++] ?? 0) / 256;
};

// Monotonic within an isolate: ids minted in the same millisecond still sort in creation order,
// which is what makes "newest first, ties broken by id" a stable order.
const ulid = monotonicFactory(prng);

export type IdPrefix = "av" | "per" | "conv" | "msg" | "turn" | "key" | "org" | "evt" | "req" | "we" | "wd" | "sock";

export const newId = (prefix: IdPrefix): string => `${prefix}_${ulid()}`;
