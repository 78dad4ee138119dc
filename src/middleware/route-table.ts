import { TrieRouter } from "hono/router/trie-router";
import type { ErrorCode } from "../lib/errors";
import type { Access } from "./access";

/** What a route's definition declares about it: who may call it and every error code it can answer. */
export interface RoutePolicy {
  /** Undefined for a route mounted without a definition (a plain `app.get` page). */
  readonly access: Access | undefined;
  readonly codes: ReadonlySet<ErrorCode>;
  /** The largest request body it takes, when it takes more than the global limit (body.ts). */
  readonly maxBodyBytes?: number;
  /** The handler streams the body to storage as it arrives: it must declare its length, and is never buffered (body.ts). */
  readonly streamedBody?: boolean;
}

/**
 * A route mounted without a definition declared nothing, so it gets the strictest reading: CORS
 * for the configured origins only, and no error code beyond the global ones.
 */
export const UNDECLARED: RoutePolicy = Object.freeze({ access: undefined, codes: new Set<ErrorCode>() });

/** One (method, Hono path) an app mounted, with its definition's policy when it has one. */
export interface MountedRoute {
  method: string;
  path: string;
  policy?: RoutePolicy;
}

const key = (method: string, path: string) => `${method} ${path}`;
/** Hono answers HEAD with the GET route. */
const routedMethod = (method: string) => (method === "HEAD" ? "GET" : method);

/**
 * The routes one app mounted, as CORS and the strict error-code check read them. Built from the app
 * the first time a request asks, not when the app is created: tests mount routes on an app after
 * `createApp()` returns, and Hono's own router accepts no route once it has answered a request, so
 * nothing mounted is missed and the table never changes after it is built.
 */
export class RouteTable {
  readonly #mounted: () => readonly MountedRoute[];
  #built: { router: TrieRouter<RoutePolicy>; byRoute: ReadonlyMap<string, RoutePolicy> } | undefined;

  constructor(mounted: () => readonly MountedRoute[]) {
    this.#mounted = mounted;
  }

  #build() {
    if (this.#built) return this.#built;
    const router = new TrieRouter<RoutePolicy>();
    const byRoute = new Map<string, RoutePolicy>();
    // A route's middleware and handler are mounted as several entries under one key; the first
    // mounted route of a key is the one Hono dispatches to, so it is the one that counts.
    for (const { method, path, policy = UNDECLARED } of this.#mounted()) {
      if (byRoute.has(key(method, path))) continue;
      byRoute.set(key(method, path), policy);
      router.add(method, path, policy);
    }
    this.#built = { router, byRoute };
    return this.#built;
  }

  /** The policy of the route a request for `path` reaches (before dispatch: CORS, preflights). */
  reached(method: string, path: string): RoutePolicy {
    return this.#build().router.match(routedMethod(method), path)[0][0]?.[0] ?? UNDECLARED;
  }

  /** The policy of the route mounted as `routePath` (what `c.req.routePath` gives once dispatched). */
  mountedAs(method: string, routePath: string): RoutePolicy {
    return this.#build().byRoute.get(key(routedMethod(method), routePath)) ?? UNDECLARED;
  }
}
