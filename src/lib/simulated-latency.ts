/**
 * Benchmark only (`SIM_*_RTT_MS`): a fixed delay at the binding boundary, half before the call and
 * half after, as a far-away Durable Object or D1 primary would add. Locally every binding is on the
 * same machine, so without this a design that waits on remote calls cannot be told from one that
 * does not. Zero delays (the default, and always in production) return the binding itself.
 */

import { type Around, wrapDatabase } from "./d1-wrap";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function delayed<T>(ms: number, call: () => Promise<T>): Promise<T> {
  await sleep(ms / 2);
  const result = await call();
  await sleep(ms / 2);
  return result;
}

/** Every method call on a stub (an RPC to the object) pays `rttMs`. */
export function delayedNamespace<N extends object>(namespace: N, rttMs: number): N {
  if (rttMs <= 0) return namespace;
  return new Proxy(namespace, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== "getByName" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (name: string) => {
        const stub = (value as (n: string) => object).call(target, name);
        return new Proxy(stub, {
          get(s, method) {
            const fn = Reflect.get(s, method) as unknown;
            if (typeof fn !== "function") return fn;
            // Reflect.apply: on an RPC stub even `.apply` would be a remote property.
            return (...args: unknown[]) => delayed(rttMs, async () => Reflect.apply(fn as (...a: unknown[]) => unknown, s, args));
          },
        });
      };
    },
  });
}

/** Queries and batches wait as on a far primary; a session opened replica-first, as on a near replica. */
export function delayedD1(d1: D1Database, primaryMs: number, replicaMs: number): D1Database {
  if (primaryMs <= 0 && replicaMs <= 0) return d1;
  const after =
    (ms: number): Around =>
    (call) =>
      delayed(ms, call);
  return wrapDatabase(d1, after(primaryMs), (constraint) => after(constraint === "first-primary" ? primaryMs : replicaMs));
}
