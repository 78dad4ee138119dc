import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./client";
import { type ClientPermission, type ConversationRow, conversations, type EndReason, type VoiceInputSettings } from "./schema";
import type { ToolSpec } from "./tools";
import { type ConversationUsage, conversationUsageOf } from "./usage";
import { voiceInputOf } from "./voice-input";

/**
 * The writes of the conversations index, shared by the service that creates conversations and the
 * conversation objects, which report their start and end (listing lives in the service, which owns
 * the paging rules).
 */

/** A conversation's indexed fields with the JSON ones parsed: what the object and the index agree on. */
export type ConversationRecord = Omit<ConversationRow, "metadata" | "clientPermissions" | "voiceInput" | "tools" | "usage" | "keyId"> & {
  metadata: Record<string, string>;
  clientPermissions: ClientPermission[];
  voiceInput: VoiceInputSettings;
  tools: ToolSpec[];
  /** Absent on records an object stored before keys were kept (none). */
  keyId?: string | null;
  usage: ConversationUsage;
};

export const toRecord = (row: ConversationRow): ConversationRecord => ({
  ...row,
  metadata: JSON.parse(row.metadata) as Record<string, string>,
  clientPermissions: JSON.parse(row.clientPermissions) as ClientPermission[],
  voiceInput: voiceInputOf(JSON.parse(row.voiceInput) as Partial<VoiceInputSettings>),
  tools: JSON.parse(row.tools) as ToolSpec[],
  usage: conversationUsageOf(JSON.parse(row.usage) as Partial<ConversationUsage>),
});

export async function insertConversation(db: Db, record: ConversationRecord): Promise<void> {
  await db.insert(conversations).values({
    ...record,
    metadata: JSON.stringify(record.metadata),
    clientPermissions: JSON.stringify(record.clientPermissions),
    voiceInput: JSON.stringify(record.voiceInput),
    tools: JSON.stringify(record.tools),
    usage: JSON.stringify(record.usage),
  });
}

/** The conversation's usage so far, as its object counts it. (A statement: batch it with the usage it adds.) */
export const updateUsage = (db: Db, id: string, usage: ConversationUsage) =>
  db
    .update(conversations)
    .set({ usage: JSON.stringify(usage) })
    .where(eq(conversations.id, id));

/** A `session.update` changed how the conversation listens. (A statement: await it or batch it.) */
export const updateVoiceInput = (db: Db, id: string, voiceInput: VoiceInputSettings) =>
  db
    .update(conversations)
    .set({ voiceInput: JSON.stringify(voiceInput) })
    .where(eq(conversations.id, id));

/** The org's active conversations (their objects hear of a revoked key). */
export async function activeConversationIds(db: Db, orgId: string): Promise<string[]> {
  const rows = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.orgId, orgId), eq(conversations.status, "active")))
    .all();
  return rows.map((r) => r.id);
}

/** The org's conversation, or undefined: another org's id is as absent as an unknown one. */
export async function findConversation(db: Db, orgId: string, id: string): Promise<ConversationRecord | undefined> {
  const row = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), eq(conversations.orgId, orgId)))
    .get();
  return row && toRecord(row);
}

/** The first join only: a later call never moves `started_at`. (A statement: await it or batch it.) */
export const markStarted = (db: Db, id: string, startedAt: number) =>
  db
    .update(conversations)
    .set({ startedAt })
    .where(and(eq(conversations.id, id), isNull(conversations.startedAt)));

/** A statement: await it or batch it. */
export const markEnded = (db: Db, id: string, end: { endedAt: number; endReason: EndReason; startedAt: number | null }) =>
  db.update(conversations).set({ status: "ended", endedAt: end.endedAt, endReason: end.endReason, startedAt: end.startedAt }).where(eq(conversations.id, id));
