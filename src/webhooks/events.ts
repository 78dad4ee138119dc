import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { events } from "../db/schema";
import { newId } from "../lib/ids";
import { isoSeconds } from "../lib/time";

/** Every event type an endpoint can subscribe to (`enabled_events`), and `*` for all of them. */
export const EVENT_TYPES = [
  "conversation.started",
  "conversation.ended",
  "conversation.transcript.ready",
  "api_key.created",
  "api_key.revoked",
  "webhook_endpoint.disabled",
  "webhook.test",
  "quota.warning",
  "avatar.ready",
  "avatar.failed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as stored: `payload` is the JSON every delivery of it sends, byte for byte. */
export interface StoredEvent {
  id: string;
  orgId: string;
  type: EventType;
  createdAt: number;
  payload: string;
}

/** The event envelope of the contract: `{id, object: "event", type, created_at, data}`. */
/** `id` is given only by a writer that may retry and must store the event once (an avatar's outcome). */
export function buildEvent(orgId: string, type: EventType, data: Record<string, unknown>, now = Date.now(), id = newId("evt")): StoredEvent {
  const payload = JSON.stringify({ id, object: "event", type, created_at: isoSeconds(now), data });
  return { id, orgId, type, createdAt: now, payload };
}

/**
 * The insert of events, as one statement to batch with the write that caused them (a key and its
 * `api_key.created` commit together). An event already stored is left alone, so a writer that
 * retries after an unknown outcome (a conversation object) cannot store it twice.
 */
export const insertEvents = (db: Db, list: StoredEvent[], dispatchedAt: number | null = null) =>
  db
    .insert(events)
    .values(list.map((e) => ({ id: e.id, orgId: e.orgId, type: e.type, payload: e.payload, createdAt: e.createdAt, dispatchedAt })))
    .onConflictDoNothing({ target: events.id });

/** Endpoint subscriptions: a list of types, or `["*"]`. */
export const subscribes = (enabledEvents: readonly string[], type: string): boolean => enabledEvents.includes("*") || enabledEvents.includes(type);

export const parseEnabledEvents = (json: string): string[] => JSON.parse(json) as string[];

/** `dispatched_at IS NULL` rows, oldest first: what the sweep re-dispatches. */
export const undispatchedBefore = (db: Db, before: number, limit: number) =>
  db
    .select({ id: events.id, orgId: events.orgId, type: events.type, createdAt: events.createdAt, payload: events.payload })
    .from(events)
    .where(sql`${events.dispatchedAt} IS NULL AND ${events.createdAt} <= ${before}`)
    .orderBy(events.createdAt)
    .limit(limit)
    .all() as Promise<StoredEvent[]>;
