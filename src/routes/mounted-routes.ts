import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import type { MountedRoute, RoutePolicy } from "../middleware/route-table";
import { policyOf, toHonoPath } from "./define-route";

const key = (method: string, honoPath: string) => `${method.toUpperCase()} ${honoPath}`;

/**
 * Every route `app` has mounted, in the order Hono dispatches them, each with the policy of its
 * definition: the definitions are those the app's OpenAPI registry holds (`app.openapi` records
 * each one it mounts), so a route defined but never mounted counts for nothing, and a route
 * mounted without a definition (`app.get`) is listed without a policy. `ALL` entries are
 * middleware (`app.use`), not routes.
 */
export function mountedRoutes(app: OpenAPIHono<AppEnv>): MountedRoute[] {
  const policies = new Map<string, RoutePolicy>();
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const policy = policyOf(definition.route);
    if (policy) policies.set(key(definition.route.method, toHonoPath(definition.route.path)), policy);
  }
  return app.routes.filter((route) => route.method !== "ALL").map(({ method, path }) => ({ method, path, policy: policies.get(key(method, path)) }));
}
