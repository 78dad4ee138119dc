/**
 * A D1 database (and the sessions it opens) whose every query and batch runs inside `around`: how
 * the benchmark adds round trips (simulated-latency.ts) and how a request times its reads
 * (`Server-Timing: db`). drizzle calls only prepare, bind, first/all/run/raw and batch.
 */

export type Around = <T>(call: () => Promise<T>) => Promise<T>;
type Statement = D1PreparedStatement;

// batch() wants the runtime's own statements, not proxies around them.
const targets = new WeakMap<object, Statement>();
const unwrap = (s: Statement): Statement => targets.get(s) ?? s;

function wrapStatement(statement: Statement, around: Around): Statement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => wrapStatement(Reflect.apply(value as (...a: unknown[]) => Statement, target, args), around);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        return (...args: unknown[]) => around(async () => Reflect.apply(value as (...a: unknown[]) => Promise<unknown>, target, args));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  targets.set(proxy, statement);
  return proxy;
}

/** `forSession` decides how a session's calls are wrapped, from the constraint it was opened with. */
export function wrapDatabase<D extends Pick<D1Database, "prepare" | "batch">>(db: D, around: Around, forSession?: (constraint?: string) => Around): D {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), around);
      if (prop === "batch") return (statements: Statement[]) => around(() => target.batch(statements.map((s) => unwrap(s))));
      if (prop === "withSession" && forSession) {
        return (constraint?: string) => wrapDatabase((value as (c?: string) => D1DatabaseSession).call(target, constraint), forSession(constraint));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Every query and batch reports its duration. */
export function timedD1(d1: D1Database, report: (ms: number) => void): D1Database {
  const around: Around = async (call) => {
    const start = performance.now();
    try {
      return await call();
    } finally {
      report(performance.now() - start);
    }
  };
  return wrapDatabase(d1, around, () => around);
}
