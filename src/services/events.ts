import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, webhookDeliveries } from "../db/schema";
import { notFound } from "../lib/errors";
import { afterCursor, checkCursor, ownedBy } from "../lib/pagination";
import { type DispatchDeps, enqueueDeliveries, subscribedEndpoints } from "../webhooks/dispatch";

export const getEvent = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(events)
    .where(and(eq(events.id, id), eq(events.orgId, orgId)))
    .get();

export async function listEvents(db: Db, orgId: string, page: { limit: number; startingAfter?: string | undefined; type?: string | undefined }) {
  const rows = await db
    .select()
    .from(events)
    .where(
      and(
        eq(events.orgId, orgId),
        page.type === undefined ? undefined : eq(events.type, page.type),
        page.startingAfter === undefined ? undefined : afterCursor("events", page.startingAfter, ownedBy(orgId)),
      ),
    )
    .orderBy(desc(events.createdAt), desc(events.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (id) => (await getEvent(db, orgId, id)) !== undefined);
}

/** Sends the event again to every enabled endpoint that subscribes to it now; their ids. */
export async function redeliverEvent(deps: DispatchDeps, orgId: string, id: string): Promise<string[]> {
  const event = await getEvent(deps.db, orgId, id);
  if (!event) throw notFound("event", id);
  const endpointIds = await subscribedEndpoints(deps.db, orgId, event.type);
  await enqueueDeliveries(
    deps.queue,
    endpointIds.map((endpointId) => ({ event_id: event.id, endpoint_id: endpointId })),
  );
  return endpointIds;
}

/** An endpoint's delivery attempts, newest first. */
export async function listDeliveries(db: Db, orgId: string, endpointId: string, page: { limit: number; startingAfter?: string | undefined }) {
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.orgId, orgId),
        eq(webhookDeliveries.endpointId, endpointId),
        page.startingAfter === undefined ? undefined : afterCursor("webhook_deliveries", page.startingAfter, ownedBy(orgId)),
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (cursor) => {
    const row = await db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, cursor), eq(webhookDeliveries.orgId, orgId), eq(webhookDeliveries.endpointId, endpointId)))
      .get();
    return row !== undefined;
  });
}
