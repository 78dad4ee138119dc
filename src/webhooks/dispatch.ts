import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, webhookEndpoints } from "../db/schema";
import type { Logger } from "../lib/logger";
import { parseEnabledEvents, type StoredEvent, subscribes, undispatchedBefore } from "./events";

/** A queue message: one delivery of one event to one endpoint (retries reuse it). */
export interface DeliveryMessage {
  event_id: string;
  endpoint_id: string;
  /** `webhook.test` events are delivered to their endpoint even while it is disabled. */
  force?: boolean;
}

export interface DispatchDeps {
  db: Db;
  queue: Queue;
  log: Logger;
}

/** Events younger than this are left to the dispatch that stored them. */
export const SWEEP_GRACE_MS = 30_000;
const SWEEP_BATCH = 100;
// Queues accept at most 100 messages per sendBatch.
const SEND_BATCH = 100;

export async function enqueueDeliveries(queue: Queue, messages: DeliveryMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += SEND_BATCH) {
    await queue.sendBatch(messages.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })));
  }
}

async function enabledEndpoints(db: Db, orgId: string): Promise<{ id: string; enabledEvents: string[] }[]> {
  const rows = await db
    .select({ id: webhookEndpoints.id, enabledEvents: webhookEndpoints.enabledEvents })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.disabledAt)))
    .all();
  return rows.map((r) => ({ id: r.id, enabledEvents: parseEnabledEvents(r.enabledEvents) }));
}

/** The org's enabled endpoints that subscribe to `type`. */
export async function subscribedEndpoints(db: Db, orgId: string, type: string): Promise<string[]> {
  return (await enabledEndpoints(db, orgId)).filter((ep) => subscribes(ep.enabledEvents, type)).map((ep) => ep.id);
}

/**
 * Puts one delivery per (event, subscribed endpoint) on the queue, then marks the events
 * dispatched. Never throws: events whose dispatch failed stay undispatched and the sweep sends them
 * (so an event is delivered at least once; a receiver dedupes on `webhook-id`).
 */
export async function dispatchEvents(deps: DispatchDeps, list: StoredEvent[], now = Date.now()): Promise<void> {
  if (list.length === 0) return;
  try {
    const endpointsByOrg = new Map<string, { id: string; enabledEvents: string[] }[]>();
    for (const orgId of new Set(list.map((e) => e.orgId))) endpointsByOrg.set(orgId, await enabledEndpoints(deps.db, orgId));
    const messages = list.flatMap((e) =>
      (endpointsByOrg.get(e.orgId) ?? []).filter((ep) => subscribes(ep.enabledEvents, e.type)).map((ep) => ({ event_id: e.id, endpoint_id: ep.id })),
    );
    await enqueueDeliveries(deps.queue, messages);
    await deps.db
      .update(events)
      .set({ dispatchedAt: now })
      .where(
        inArray(
          events.id,
          list.map((e) => e.id),
        ),
      );
  } catch (err) {
    deps.log.warn("event dispatch failed; the sweep sends it again", { event_ids: list.map((e) => e.id), error: err });
  }
}

/** Dispatches what an interrupted dispatch left behind (the cron trigger, once a minute). */
export async function sweepUndispatched(deps: DispatchDeps, now = Date.now()): Promise<number> {
  const list = await undispatchedBefore(deps.db, now - SWEEP_GRACE_MS, SWEEP_BATCH);
  if (list.length > 0) deps.log.info("dispatching events left undispatched", { count: list.length });
  await dispatchEvents(deps, list, now);
  return list.length;
}
