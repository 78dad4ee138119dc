import { and, desc, eq, isNull, lte, or, sql } from "drizzle-orm";
import { createPrimarySession, type Db } from "../db/client";
import { type ApiKeyMode, type ApiKeyRow, apiKeys, orgs, QUOTA_METRICS, type Quotas } from "../db/schema";
import type { Conversation } from "../durable-objects/conversation";
import type { AuthOrg } from "../env";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { afterCursor, checkCursor, ownedBy } from "../lib/pagination";
import type { Limiter } from "../lib/rate-limits";
import { randomBase62 } from "../lib/secrets";
import { concurrencyFor, limitFor, parseQuotas, quotasFor } from "../lib/tiers";
import { isoOrNull, isoSeconds } from "../lib/time";
import { type DispatchDeps, dispatchEvents } from "../webhooks/dispatch";
import { buildEvent, insertEvents } from "../webhooks/events";
import { closeSocketsOfKey } from "./conversations";

/** A key on the wire (the routes and the `api_key.*` events alike); never its secret. */
export const apiKeyJson = (k: ApiKeyRow) => ({
  id: k.id,
  object: "api_key" as const,
  name: k.name,
  mode: k.mode,
  prefix: k.prefix,
  last4: k.last4,
  created_at: isoSeconds(k.createdAt),
  last_used_at: isoOrNull(k.lastUsedAt),
  revoked_at: isoOrNull(k.revokedAt),
  quotas: keyQuotasJson(parseQuotas(k.quotas)),
});

/** A key's quotas on the wire: every metric, null where the key has none of its own. */
const keyQuotasJson = (q: Partial<Quotas> | null): Quotas => Object.fromEntries(QUOTA_METRICS.map((m) => [m, q?.[m] ?? null])) as Quotas;

/** Characters of randomness after `av_live_` / `av_test_` (API.md asks for at least 32). */
export const SECRET_LENGTH = 40;
/** `last_used_at` is written at most this often per key. */
export const TOUCH_INTERVAL_MS = 60_000;

export interface KeyLookup {
  keyId: string;
  revokedAt: number | null;
  lastUsedAt: number | null;
  org: AuthOrg;
  /** The key's own daily quotas, if it was given any. */
  quotas: Partial<Quotas> | null;
}

/** One query: the key by the hash of its secret, with the org it acts for. */
export async function findKeyByHash(db: Db, keyHash: string): Promise<KeyLookup | null> {
  const row = await db
    .select({
      keyId: apiKeys.id,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
      orgId: orgs.id,
      tier: orgs.tier,
      customLimit: orgs.rateLimitPerMinute,
      customConcurrency: orgs.maxConcurrentConversations,
      orgQuotas: orgs.quotas,
      keyQuotas: apiKeys.quotas,
    })
    .from(apiKeys)
    .innerJoin(orgs, eq(orgs.id, apiKeys.orgId))
    .where(eq(apiKeys.keyHash, keyHash))
    .get();
  if (!row) return null;
  return {
    keyId: row.keyId,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    org: {
      id: row.orgId,
      tier: row.tier,
      limit: limitFor(row.tier, row.customLimit),
      concurrency: concurrencyFor(row.tier, row.customConcurrency),
      quotas: quotasFor(row.tier, parseQuotas(row.orgQuotas)),
    },
    quotas: parseQuotas(row.keyQuotas),
  };
}

/** A page of the org's keys, newest first; fetches `limit + 1` rows. */
export async function listKeys(db: Db, orgId: string, page: { limit: number; startingAfter?: string | undefined }) {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), page.startingAfter === undefined ? undefined : afterCursor("api_keys", page.startingAfter, ownedBy(orgId))))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (id) => (await getKey(db, orgId, id)) !== undefined);
}

export const getKey = (db: Db, orgId: string, keyId: string) =>
  db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.orgId, orgId)))
    .get();

/**
 * Mints a key; the secret exists only in the return value, the table gets its hash. The key and its
 * `api_key.created` event are written together, then the event is sent to the org's webhooks.
 */
export async function createKey(deps: DispatchDeps, orgId: string, input: { name: string; mode: ApiKeyMode; quotas?: Partial<Quotas> | undefined }) {
  const secret = `av_${input.mode}_${randomBase62(SECRET_LENGTH)}`;
  const row: ApiKeyRow = {
    id: newId("key"),
    orgId,
    name: input.name,
    mode: input.mode,
    keyHash: await sha256Hex(secret),
    prefix: secret.slice(0, 12),
    last4: secret.slice(-4),
    createdAt: Date.now(),
    lastUsedAt: null,
    revokedAt: null,
    quotas: input.quotas === undefined ? null : JSON.stringify(input.quotas),
  };
  const event = buildEvent(orgId, "api_key.created", { api_key: apiKeyJson(row) }, row.createdAt);
  await deps.db.batch([deps.db.insert(apiKeys).values(row), insertEvents(deps.db, [event])]);
  await dispatchEvents(deps, [event]);
  return { row, secret };
}

export interface RevokeDeps extends DispatchDeps {
  limiter: Limiter;
  d1: D1Database;
  conversations: DurableObjectNamespace<Conversation>;
  /** Work that may finish after the answer (`waitUntil`). */
  inBackground: (work: Promise<unknown>) => void;
}

/**
 * Revokes the org's key (idempotent: a second revoke keeps the first time and sends no event) and
 * tells the org's limiter, whose leases carry revoked keys, so this isolate refuses the key at once
 * and every other within one lease lifetime. The revocation and its `api_key.revoked` event are
 * written together. Then, in the background, the org's active conversations close the sockets the
 * key opened (or that client secrets it minted opened): a conversation can last an hour.
 */
export async function revokeKey(deps: RevokeDeps, orgId: string, keyId: string): Promise<ApiKeyRow | undefined> {
  const current = await getKey(deps.db, orgId, keyId);
  if (!current) return undefined;
  if (current.revokedAt === null) {
    const row = { ...current, revokedAt: Date.now() };
    const event = buildEvent(orgId, "api_key.revoked", { api_key: apiKeyJson(row) }, row.revokedAt);
    // Written through a primary session, whose bookmark then travels with the revocation: every
    // isolate's reads start at least there, so none can read the key back unrevoked from a replica.
    const primary = createPrimarySession(deps.d1);
    // Two revokes racing may both record an event; the key keeps the first time either way.
    await primary.db.batch([
      primary.db
        .update(apiKeys)
        .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${row.revokedAt})` })
        .where(and(eq(apiKeys.id, keyId), eq(apiKeys.orgId, orgId))),
      insertEvents(primary.db, [event]),
    ]);
    await deps.limiter.revokeKey(orgId, keyId, primary.bookmark());
    deps.inBackground(closeSocketsOfKey({ db: primary.db, namespace: deps.conversations, log: deps.log }, orgId, keyId));
    await dispatchEvents(deps, [event]);
    return (await getKey(primary.db, orgId, keyId)) ?? row;
  }
  await deps.limiter.revokeKey(orgId, keyId);
  return current;
}

/** Records use; the condition keeps it to one write a minute per key across every isolate. */
export async function touchKey(db: Db, keyId: string, now: number): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lte(apiKeys.lastUsedAt, now - TOUCH_INTERVAL_MS))));
}
