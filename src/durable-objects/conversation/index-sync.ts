import type { BatchItem } from "drizzle-orm/batch";
import { createDb } from "../../db/client";
import { type ConversationRecord, markEnded, markStarted, updateUsage, updateVoiceInput } from "../../db/conversations";
import { type ConversationUsage, conversationUsageOf, isNoUsage, talkedSeconds, usageUpsert, usageUpserts } from "../../db/usage";
import type { Logger } from "../../lib/logger";
import { nextTask } from "../../lib/time";
import { dispatchEvents } from "../../webhooks/dispatch";
import { buildEvent, insertEvents, type StoredEvent } from "../../webhooks/events";
import { conversationJson } from "../conversation.protocol";
import { releasePlace } from "./admission";
import type { ConversationStore } from "./store";

/**
 * Everything the conversation object owes the rest of the system, written from its own storage: the
 * D1 index (its start and end), the org's usage, its place among the org's active conversations
 * (freed at the end), and the webhook events, which wait in the object's
 * outbox from the moment of their cause until D1 has them. One writer at a time (two writes never
 * flush the same outbox events); a failed write leaves everything in place for the next one.
 */

/** A transcript up to this size rides in its event; a longer one is fetched from `transcript_url`. */
const TRANSCRIPT_INLINE_BYTES = 16 * 1024;

export interface IndexSyncDeps {
  env: Pick<Env, "DB" | "WEBHOOKS" | "RATE_LIMITER">;
  store: ConversationStore;
  log: () => Logger;
  /** The write failed: the caller's alarm retries it. */
  onBehind: () => void;
}

export class IndexSync {
  private running: Promise<void> = Promise.resolve();
  /** The write of usage that is waiting for its window to close, if one is. */
  private usageWrite: Promise<void> | undefined;

  constructor(private readonly deps: IndexSyncDeps) {}

  /** The first socket joined. */
  started(record: ConversationRecord): void {
    this.deps.store.addToOutbox([
      buildEvent(
        record.orgId,
        "conversation.started",
        { conversation: conversationJson(record, record.startedAt ?? undefined) },
        record.startedAt ?? Date.now(),
      ),
    ]);
  }

  /** The conversation ended: `conversation.ended` and `conversation.transcript.ready`, decided now. */
  ended(record: ConversationRecord): void {
    this.deps.store.addToOutbox(this.endEvents(record));
  }

  /** `session.update` changed how the conversation listens: the index learns it with the next sync. */
  voiceInputChanged(): void {
    this.deps.store.saveVoiceInputBehind(this.deps.store.voiceInputBehind() + 1);
  }

  /** A turn's speech, model tokens or heard voice, for the org's usage (written with the next sync). */
  usage(usage: ConversationUsage): boolean {
    if (isNoUsage(usage)) return false;
    this.deps.store.addUsage(usage);
    return true;
  }

  /**
   * Writes the usage counted so far within `ms`, with whatever else is pending then. Turns are
   * written together, not one by one: a conversation taking a turn a second would cost D1 (one
   * statement at a time for the whole deployment) a write a second, and that write would go out
   * just as the next turn begins. Usage waits in the object's storage meanwhile, so nothing is lost
   * if the object stops first; the conversation's end writes it at once.
   */
  usageWithin(ms: number): Promise<void> {
    this.usageWrite ??= nextTask(ms).then(() => {
      this.usageWrite = undefined;
      // The end, or another sync, may have written it already.
      return isNoUsage(this.deps.store.usage()) ? undefined : this.sync();
    });
    return this.usageWrite;
  }

  /** Writes what is pending; resolves when done (a failure is logged and left for the retry). */
  sync(): Promise<void> {
    this.running = this.running.then(() => this.write());
    return this.running;
  }

  private endEvents(record: ConversationRecord): StoredEvent[] {
    const endedAt = record.endedAt ?? Date.now();
    const messages = this.deps.store.messages();
    const inline = new TextEncoder().encode(JSON.stringify(messages)).byteLength <= TRANSCRIPT_INLINE_BYTES;
    // The socket URL is the one address of this conversation the object knows; its messages live beside it.
    const transcriptUrl = record.transportUrl.replace(/^ws(s?):/, "http$1:").replace(/\/ws$/, "/messages");
    return [
      buildEvent(
        record.orgId,
        "conversation.ended",
        {
          conversation: conversationJson(record),
          reason: record.endReason,
          duration_s: talkedSeconds(record.startedAt, endedAt),
          message_count: messages.length,
        },
        endedAt,
      ),
      buildEvent(
        record.orgId,
        "conversation.transcript.ready",
        { conversation_id: record.id, message_count: messages.length, messages: inline ? messages : null, transcript_url: inline ? null : transcriptUrl },
        endedAt,
      ),
    ];
  }

  /**
   * Tells the index (D1) the start or the end, with the webhook events waiting in the outbox, and
   * with the end counts the conversation's seconds for the org, all in one batch: a retry can never
   * count them twice, and an event reaches D1 exactly when what caused it does. Then the events go
   * to the queue (a failure there is the sweep's to repair).
   */
  private async write(): Promise<void> {
    const { store, env } = this.deps;
    const record = store.record();
    const limits = store.limits();
    if (!record || !limits) return;
    const db = createDb(env.DB);
    const outbox = store.outbox();
    const usage = store.usage();
    const voiceInputBehind = store.voiceInputBehind();
    const now = Date.now();
    // Usage is the key's that created the conversation (its quotas apply to it).
    const meter = { orgId: record.orgId, keyId: record.keyId ?? null };
    const statements: BatchItem<"sqlite">[] = [
      ...(outbox.length > 0 ? [insertEvents(db, outbox)] : []),
      ...(voiceInputBehind > 0 ? [updateVoiceInput(db, record.id, record.voiceInput)] : []),
      ...usageUpserts(db, meter, usage, now),
      ...(isNoUsage(usage) ? [] : [updateUsage(db, record.id, conversationUsageOf(record.usage))]),
    ];
    try {
      if (record.status === "ended" && record.endedAt !== null && record.endReason !== null) {
        const seconds = talkedSeconds(record.startedAt, record.endedAt);
        const end = markEnded(db, record.id, { endedAt: record.endedAt, endReason: record.endReason, startedAt: record.startedAt });
        await db.batch([end, ...statements, ...(seconds > 0 ? [usageUpsert(db, meter, "conversation_seconds", seconds, record.endedAt)] : [])]);
        // Its place among the org's active conversations is free (idempotent, so a retry may repeat it).
        if (record.startedAt !== null) await releasePlace(env.RATE_LIMITER, record);
      } else if (record.startedAt !== null) {
        // Idempotent (the first start only), so a write for usage alone may repeat it.
        await db.batch([markStarted(db, record.id, record.startedAt), ...statements]);
      } else {
        const [first, ...rest] = statements;
        if (first) await db.batch([first, ...rest]);
      }
      store.usageWritten(usage);
      // A session.update while the batch ran counted on: the next sync writes it.
      if (voiceInputBehind > 0 && store.voiceInputBehind() === voiceInputBehind) store.saveVoiceInputBehind(0);
      if (limits.indexBehind) store.saveLimits({ ...(store.limits() ?? limits), indexBehind: false });
    } catch (err) {
      this.deps.log().warn("conversation index not updated; retrying later", { error: err });
      store.saveLimits({ ...(store.limits() ?? limits), indexBehind: true });
      this.deps.onBehind();
      return;
    }
    if (outbox.length === 0) return;
    store.removeFromOutbox(outbox.map((e) => e.id));
    await dispatchEvents({ db, queue: env.WEBHOOKS, log: this.deps.log() }, outbox);
  }
}
