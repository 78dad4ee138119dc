import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";

const ANY = "ANY";

/**
 * Which methods a path answers to, for `405 method.not_allowed` + `Allow`. Hono itself only knows
 * "no route matched"; this router holds every (method, path) the app registered, under one key.
 */
export function allowedMethods(routes: readonly RouterRoute[]): (path: string) => string[] {
  let router: TrieRouter<string> | undefined;
  return (path) => {
    if (!router) {
      router = new TrieRouter<string>();
      for (const r of routes) if (r.method !== "ALL") router.add(ANY, r.path, r.method);
    }
    const methods = new Set(router.match(ANY, path)[0].map(([method]) => method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
