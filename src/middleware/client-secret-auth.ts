import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { checkClientSecret } from "../services/client-secrets";
import { getOrg } from "../services/orgs";
import { authenticateApiKey } from "./api-key-auth";
import { authenticationFailed, refuseIfOverFailureLimit } from "./auth-failures";

/**
 * For a conversation's WebSocket: an API key (`Authorization` header, from a backend) or the
 * conversation's client secret (`?token=cs_…`, from a browser, which cannot set headers on a
 * WebSocket). A client secret opens only the conversation it was issued for.
 */
export const clientSecretAuth = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("Authorization");
  const token = c.req.query("token");
  if (header !== undefined || token === undefined) {
    await authenticateApiKey(c, header);
    return next();
  }
  refuseIfOverFailureLimit(c);
  const conversationId = c.req.param("conversation_id") ?? "";
  const check = await checkClientSecret(c.get("config").secret("ASSET_SIGNING_SECRET"), token, conversationId, Date.now());
  const org = check.ok ? await getOrg(c.get("db"), check.orgId) : undefined;
  if (!org) {
    const reason = check.ok ? "its organisation no longer exists" : check.reason;
    return authenticationFailed(c, new ApiError("client_secret.invalid", `Invalid client secret: ${reason}.`, { param: "token" }));
  }
  c.set("auth", { org, conversationId, ...(check.ok && check.keyId !== undefined ? { issuedBy: check.keyId } : {}) });
  await next();
});
