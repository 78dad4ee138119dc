import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type WebhookEndpointRow, webhookEndpoints } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { afterCursor, checkCursor, ownedBy } from "../lib/pagination";
import { newWebhookSecret } from "../lib/webhook-signature";
import { webhookUrlProblem } from "../lib/webhook-urls";
import { type DispatchDeps, enqueueDeliveries } from "../webhooks/dispatch";
import { buildEvent, insertEvents, type StoredEvent } from "../webhooks/events";

/** After a rotation the old secret keeps signing, beside the new one, for this long. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export interface EndpointFields {
  url: string;
  enabled_events: string[];
  description?: string | null | undefined;
}

function checkUrl(url: string, allowInsecure: boolean): void {
  const problem = webhookUrlProblem(url, allowInsecure);
  if (problem) throw new ApiError("parameter.invalid", `'url' ${problem}.`, { param: "url" });
}

/** `["*"]` stands alone; a list names each type once. */
const normaliseEvents = (list: string[]): string[] => (list.includes("*") ? ["*"] : [...new Set(list)]);

export const getEndpoint = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .get();

export async function requireEndpoint(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const row = await getEndpoint(db, orgId, id);
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

export async function listEndpoints(db: Db, orgId: string, page: { limit: number; startingAfter?: string | undefined }) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.orgId, orgId), page.startingAfter === undefined ? undefined : afterCursor("webhook_endpoints", page.startingAfter, ownedBy(orgId))))
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (id) => (await getEndpoint(db, orgId, id)) !== undefined);
}

export async function createEndpoint(db: Db, orgId: string, fields: EndpointFields, allowInsecure: boolean): Promise<WebhookEndpointRow> {
  checkUrl(fields.url, allowInsecure);
  const now = Date.now();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id: newId("we"),
      orgId,
      url: fields.url,
      description: fields.description ?? null,
      enabledEvents: JSON.stringify(normaliseEvents(fields.enabled_events)),
      secret: newWebhookSecret(),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

export interface EndpointPatch {
  url?: string | undefined;
  enabled_events?: string[] | undefined;
  description?: string | null | undefined;
  disabled?: boolean | undefined;
}

/**
 * Changes what the caller sent. `disabled: false` enables the endpoint again whatever disabled it,
 * and its failure clock starts over; `disabled: true` is a manual disabling.
 */
export async function updateEndpoint(db: Db, orgId: string, id: string, patch: EndpointPatch, allowInsecure: boolean): Promise<WebhookEndpointRow> {
  const current = await requireEndpoint(db, orgId, id);
  if (patch.url !== undefined) checkUrl(patch.url, allowInsecure);
  const now = Date.now();
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: now };
  if (patch.url !== undefined) changes.url = patch.url;
  if (patch.enabled_events !== undefined) changes.enabledEvents = JSON.stringify(normaliseEvents(patch.enabled_events));
  if (patch.description !== undefined) changes.description = patch.description;
  if (patch.disabled === true && current.disabledAt === null) Object.assign(changes, { disabledAt: now, disabledReason: "manual" });
  if (patch.disabled === false) Object.assign(changes, { disabledAt: null, disabledReason: null, failingSince: null });
  const [row] = await db
    .update(webhookEndpoints)
    .set(changes)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

export async function deleteEndpoint(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const [row] = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

/**
 * A new secret; the current one becomes the previous one and keeps signing for 24 hours. Rotating
 * again within the overlap ends the oldest secret's overlap at once (two entries at most).
 */
export async function rotateSecret(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const current = await requireEndpoint(db, orgId, id);
  const now = Date.now();
  const [row] = await db
    .update(webhookEndpoints)
    .set({ secret: newWebhookSecret(), previousSecret: current.secret, previousSecretExpiresAt: now + ROTATION_OVERLAP_MS, updatedAt: now })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

/**
 * A `webhook.test` event, stored and listed like any other, sent to this endpoint only (whatever
 * it subscribes to, and even while it is disabled, so a receiver can be checked before enabling it).
 */
export async function sendTestEvent(deps: DispatchDeps, orgId: string, id: string): Promise<StoredEvent> {
  const endpoint = await requireEndpoint(deps.db, orgId, id);
  const event = buildEvent(orgId, "webhook.test", { webhook_endpoint_id: endpoint.id, message: "A test event from the avatar API." });
  // Stored as dispatched: it goes to this endpoint only, from here, and the sweep must not send it to
  // the org's other endpoints. A failed enqueue fails the request, which the caller can repeat.
  await insertEvents(deps.db, [event], event.createdAt);
  await enqueueDeliveries(deps.queue, [{ event_id: event.id, endpoint_id: endpoint.id, force: true }]);
  return event;
}
