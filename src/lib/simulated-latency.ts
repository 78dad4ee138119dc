/**
 * Benchmark only (`SIM_*_RTT_MS`): a fixed delay at the binding boundary, half before the call and
 * half after, as a far-away Durable Object or D1 primary would add. Locally every binding is on the
 * same machine, so without this a design that waits on remote calls cannot be told from one that
 * does not. Zero delays (the default, and always in production) return the binding itself.
 */

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

type Statement = D1PreparedStatement;

// batch() wants the runtime's own statements, not proxies around them.
const targets = new WeakMap<object, Statement>();
const unwrap = (s: Statement): Statement => targets.get(s) ?? s;

function delayedStatement(statement: Statement, ms: number): Statement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => delayedStatement(Reflect.apply(value as (...a: unknown[]) => Statement, target, args), ms);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        return (...args: unknown[]) => delayed(ms, async () => Reflect.apply(value as (...a: unknown[]) => Promise<unknown>, target, args));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  targets.set(proxy, statement);
  return proxy;
}

/** Queries and batches wait as on a far primary, or a near replica inside a replica-first session. */
function delayedDatabase<D extends Pick<D1Database, "prepare" | "batch">>(db: D, ms: number, sessions?: { primaryMs: number; replicaMs: number }): D {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => delayedStatement(target.prepare(sql), ms);
      if (prop === "batch") return (statements: Statement[]) => delayed(ms, () => target.batch(statements.map((s) => unwrap(s))));
      if (prop === "withSession" && sessions) {
        return (constraint?: string) => {
          const session = (value as (c?: string) => D1DatabaseSession).call(target, constraint);
          return delayedDatabase(session, constraint === "first-primary" ? sessions.primaryMs : sessions.replicaMs);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

export function delayedD1(d1: D1Database, primaryMs: number, replicaMs: number): D1Database {
  if (primaryMs <= 0 && replicaMs <= 0) return d1;
  return delayedDatabase(d1, primaryMs, { primaryMs, replicaMs });
}
