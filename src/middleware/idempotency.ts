import { and, eq, lt } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { IDEMPOTENCY_TTL_MS } from "../db/idempotency";
import { idempotencyKeys } from "../db/schema";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";

/**
 * `Idempotency-Key` on POST (Stripe's semantics): a client that retries a create after a timeout
 * sends the same key, and gets the first answer again (`Idempotent-Replayed: true`) instead of a
 * second conversation, persona, endpoint or key. Keys are scoped to the org and the credential that
 * sent them and kept 24 hours. The same key with another request (method, path, query or body) is
 * `422 idempotency.key_reused`; while the first request is still running, `409 idempotency.in_progress`.
 *
 * The key is claimed before the route runs (one insert: of concurrent duplicates, exactly one wins)
 * and completed with the answer. Answers that say nothing was done are not kept, so a corrected
 * retry may run: server errors, `429`, and the request's own `400`s. Streamed answers (server-sent
 * events, audio) cannot be replayed: for them the key is released, and a retry runs again.
 */

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** Printable ASCII, as Stripe takes it (UUIDs, ULIDs, hashes). */
const KEY_FORM = /^[\x21-\x7e]{1,255}$/;
/** Answers larger than this are not kept (none of the JSON answers comes close). */
const MAX_KEPT_BODY = 256 * 1024;
/** Headers of the first answer a replay carries again. */
const KEPT_HEADERS = ["content-type", "location", "cache-control"];

/** Whether an answer is worth keeping: it did something, or refused for a reason a retry would meet again. */
function keepable(res: Response): boolean {
  if (res.status >= 500 || res.status === 429) return false;
  if (res.status === 400) return false;
  return /^application\/json/.test(res.headers.get("Content-Type") ?? "");
}

export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined || c.req.method !== "POST") return next();
  if (!KEY_FORM.test(key)) {
    throw new ApiError("parameter.invalid", `'${IDEMPOTENCY_HEADER}' must be 1 to 255 printable ASCII characters.`, { param: IDEMPOTENCY_HEADER });
  }
  const auth = c.get("auth");
  const scope = auth?.key?.keyId ?? (auth?.userId ? `user:${auth.userId}` : undefined);
  // Without a credential there is nothing to scope the key to: it is ignored (no public route creates anything).
  if (!auth || !scope) return next();
  const db = c.get("db");
  const url = new URL(c.req.url);
  const requestHash = await sha256Hex(`${c.req.method} ${url.pathname}${url.search}\n${await c.req.text()}`);
  const now = Date.now();
  const where = and(eq(idempotencyKeys.orgId, auth.org.id), eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key));

  // A key older than a day is forgotten: it may be claimed again.
  await db.delete(idempotencyKeys).where(and(where, lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)));
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ orgId: auth.org.id, scope, key, requestHash, inProgress: true, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });

  if (claimed.length === 0) {
    const first = await db.select().from(idempotencyKeys).where(where).get();
    if (!first) throw new ApiError("idempotency.in_progress", "A request with this Idempotency-Key is still running; retry shortly.");
    if (first.requestHash !== requestHash) {
      throw new ApiError("idempotency.key_reused", `This ${IDEMPOTENCY_HEADER} was used with another request; use a new key for a new request.`, {
        param: IDEMPOTENCY_HEADER,
      });
    }
    if (first.inProgress) throw new ApiError("idempotency.in_progress", "The first request with this Idempotency-Key is still running; retry shortly.");
    const headers = new Headers(JSON.parse(first.responseHeaders ?? "{}") as Record<string, string>);
    headers.set(REPLAYED_HEADER, "true");
    c.res = new Response(first.responseBody, { status: first.responseStatus ?? 200, headers });
    return;
  }

  let kept = false;
  try {
    await next();
    const res = c.res;
    if (keepable(res)) {
      const body = await res.clone().text();
      if (body.length <= MAX_KEPT_BODY) {
        const headers = Object.fromEntries(KEPT_HEADERS.flatMap((h) => (res.headers.has(h) ? [[h, res.headers.get(h) ?? ""]] : [])));
        await db
          .update(idempotencyKeys)
          .set({ inProgress: false, responseStatus: res.status, responseHeaders: JSON.stringify(headers), responseBody: body })
          .where(where);
        kept = true;
      }
    }
  } finally {
    if (!kept) await db.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.inProgress, true)));
  }
});
