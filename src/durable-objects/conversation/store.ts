import type { ConversationRecord } from "../../db/conversations";
import type { QuotaMetric } from "../../db/schema";
import { addConversationUsage, type ConversationUsage, conversationUsageOf, isNoUsage } from "../../db/usage";
import { voiceInputOf } from "../../db/voice-input";
import { newId } from "../../lib/ids";
import { isoSeconds, nextTask } from "../../lib/time";
import type { StoredEvent } from "../../webhooks/events";
import type { MessageJson, ToolCallJson } from "../conversation.protocol";
import type { ConversationSetup } from "./contract";
import type { LimitState, PlannedAction } from "./limits";
import type { QuotaBlocked } from "./quota";
import { migrate } from "./schema";

/**
 * A conversation object's own SQLite storage: its settings and state, its messages, the event log
 * that sockets resume from, and the turn in flight. Every call is synchronous (the object's SQLite
 * is local), so a write and the broadcast that follows it run with nothing in between.
 */

/** The turn in flight, kept so a turn cut off by a restart can still be closed properly. */
export interface TurnInFlight {
  id: string;
  replyTo: string | null;
  speechStarted: boolean;
  /** What has been sent as audio so far. */
  spoken: string;
  /** When it started (absent in turns stored before it was kept). */
  startedAt?: number;
}

/** What a message of a tool call carries beyond text (the `tool` column, JSON). */
export type ToolPart = { tool_calls: ToolCallJson[] } | { tool_call_id: string; name: string; is_error: boolean };

/** A message to store. */
export interface NewMessage {
  role: MessageJson["role"];
  content: string;
  turnId: string;
  interrupted: boolean;
  tool?: ToolPart;
}

interface MessageRow {
  id: string;
  role: MessageJson["role"];
  content: string;
  turn_id: string;
  interrupted: number;
  created_at: number;
  tool: string | null;
  [key: string]: SqlStorageValue;
}

const messageJson = (row: MessageRow): MessageJson => ({
  id: row.id,
  object: "message",
  role: row.role,
  content: row.content,
  turn_id: row.turn_id,
  interrupted: row.interrupted === 1,
  created_at: isoSeconds(row.created_at),
  ...(row.tool === null ? {} : (JSON.parse(row.tool) as ToolPart)),
});

const INSERT_EVENT = "INSERT INTO events (seq, ts, frame) VALUES (?, ?, ?)";
/**
 * Once a reply's audio is going out (`batchWritesBehind`), its writes behind are written together
 * when the oldest is this old. Each task that writes is a commit of its own: written a task later,
 * the bench's turn (40 tokens over a second, ~95 audio frames) made ~64 commits, and they and their
 * fsyncs were about a fifth of the object's CPU (a CPU profile, `ActorSqlite` commits). The events
 * are sent at once whatever this is; a crash may lose up to `WRITE_BEHIND_MAX_MS` of them from the
 * log, and the seqs reserved for them (events.ts) are skipped, as before.
 */
export const WRITE_BEHIND_MS = 50;
/** When no event follows to write them after (the reply paused): the writes behind are written anyway. */
export const WRITE_BEHIND_MAX_MS = 200;
const UPSERT_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

export class ConversationStore {
  /**
   * Parsed meta values and the transcript, read once per object lifetime: this store is the only
   * writer, and a turn reads them several times.
   */
  private readonly meta = new Map<string, unknown>();
  private transcript: MessageJson[] | undefined;

  private readonly sql: SqlStorage;

  /**
   * Writes of a reply in progress, made later (`appendEventSoon`, `saveTurnSoon`): a Durable Object
   * holds back everything it sends until the writes of the task that sent it are durable (an fsync
   * here, a replicated commit in production), so an audio frame written in its own task waits for
   * that before it may leave. They run in the order made, before any other statement of this store
   * (nothing reads the store behind), and otherwise:
   * - until the reply's first audio has left, a task later, one commit each: the client is waiting
   *   for that audio, and nothing is kept back to be written in front of it;
   * - after it (`batchWritesBehind`), together: in the task after an event is sent once the oldest
   *   is `WRITE_BEHIND_MS` old, or `WRITE_BEHIND_MAX_MS` after it if no event follows. Not on a
   *   timer of their own alone: a model's tokens come at a steady pace, and a commit that starts as
   *   a token arrives holds that token back until it is durable; right after an event is sent, the
   *   next one is furthest away.
   */
  private behind: (() => void)[] = [];
  /** Whether the writes behind are written together (`batchWritesBehind`). */
  private batching = false;
  /** When the oldest write behind was made. */
  private behindSince = 0;
  /** How many times what was behind has been written: a batch's own timer that finds it changed has nothing to do. */
  private settled = 0;
  private writeScheduled = false;
  /** Meta keys with a `putSoon` among the writes behind: one write each, of the newest value. */
  private readonly metaBehind = new Set<string>();

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(storage);
  }

  /** Every statement but the deferred writes themselves: what was deferred runs first. */
  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    this.settle();
    return this.sql.exec<T>(query, ...bindings);
  }

  /** A write behind; it is made before the event it belongs to is sent, in the same task. */
  private later(write: () => void): void {
    this.behind.push(write);
    const now = Date.now();
    if (this.behind.length === 1) {
      this.behindSince = now;
      const settled = this.settled;
      void nextTask(this.batching ? WRITE_BEHIND_MAX_MS : 0).then(() => this.settled === settled && this.settle());
    } else if (this.batching && !this.writeScheduled && now - this.behindSince >= WRITE_BEHIND_MS) {
      this.writeScheduled = true;
      void nextTask().then(() => this.settle());
    }
  }

  /**
   * A reply's audio is going out (`true`): its writes behind are written together from now on,
   * until the reply is over (`false`, which writes what is behind). See `behind`.
   */
  batchWritesBehind(on: boolean): void {
    this.batching = on;
    if (!on) this.settle();
  }

  /** Runs the deferred writes now. */
  private settle(): void {
    this.writeScheduled = false;
    if (this.behind.length === 0) return;
    this.settled += 1;
    const writes = this.behind;
    this.behind = [];
    for (const write of writes) write();
  }

  private get<T>(key: string): T | undefined {
    if (!this.meta.has(key)) {
      const row = this.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
      this.meta.set(key, row ? JSON.parse(row.value) : undefined);
    }
    // Callers get a copy: a change they make is not a change of the store until they save it.
    return structuredClone(this.meta.get(key)) as T | undefined;
  }

  private put(key: string, value: unknown): void {
    this.exec(UPSERT_META, key, JSON.stringify(value));
    this.meta.set(key, structuredClone(value));
  }

  /**
   * `put`, written later (see `behind`): read back at once, as it is now. A key saved again before
   * it is written is written once, as it is then (a reply saves its turn with every audio frame).
   */
  private putSoon(key: string, value: unknown): void {
    this.meta.set(key, structuredClone(value));
    if (this.metaBehind.has(key)) return;
    this.metaBehind.add(key);
    this.later(() => {
      this.metaBehind.delete(key);
      this.sql.exec(UPSERT_META, key, JSON.stringify(this.meta.get(key)));
    });
  }

  /** Written once, at creation. */
  init(record: ConversationRecord, setup: ConversationSetup, limits: LimitState): void {
    this.put("setup", setup);
    this.saveRecord(record);
    this.saveLimits(limits);
  }

  setup(): ConversationSetup | undefined {
    return this.get<ConversationSetup>("setup");
  }

  record(): ConversationRecord | undefined {
    const record = this.get<ConversationRecord>("record");
    // Objects created before `client_permissions` existed granted nothing; before voice input, the defaults listen.
    // Before tools, none.
    return (
      record && {
        ...record,
        clientPermissions: record.clientPermissions ?? [],
        voiceInput: voiceInputOf(record.voiceInput ?? {}),
        tools: record.tools ?? [],
        outputVisemes: record.outputVisemes ?? true,
      }
    );
  }

  /** The record as it is now: status, start, end and (`session.update`) voice input change; the rest was fixed at creation. */
  saveRecord(record: ConversationRecord): void {
    this.put("record", record);
  }

  /**
   * A `session.update` the index has yet to hear of (written with the next sync): the count of
   * updates so far, or 0. A count, not a flag, so a write clears only what it wrote.
   */
  voiceInputBehind(): number {
    return this.get<number>("voice_input_behind") ?? 0;
  }

  saveVoiceInputBehind(updates: number): void {
    this.put("voice_input_behind", updates);
  }

  limits(): LimitState | undefined {
    return this.get<LimitState>("limits");
  }

  /** Quotas a turn reached, by metric, with the UTC day they hold for (quota.ts). */
  quotaBlocked(): Partial<Record<QuotaMetric, QuotaBlocked>> {
    return this.get<Partial<Record<QuotaMetric, QuotaBlocked>>>("quota_blocked") ?? {};
  }

  saveQuotaBlocked(blocked: Partial<Record<QuotaMetric, QuotaBlocked>>): void {
    this.put("quota_blocked", blocked);
  }

  saveLimits(limits: LimitState): void {
    this.put("limits", limits);
  }

  plan(): PlannedAction | null {
    return this.get<PlannedAction | null>("plan") ?? null;
  }

  /** What the alarm will do: written with the alarm itself. */
  savePlan(plan: PlannedAction | null): void {
    this.put("plan", plan);
  }

  turn(): TurnInFlight | undefined {
    return this.get<TurnInFlight>("turn");
  }

  /** `saveTurn`, written later (see `behind`): read back at once. */
  saveTurnSoon(turn: TurnInFlight): void {
    this.putSoon("turn", turn);
  }

  saveTurn(turn: TurnInFlight | undefined): void {
    if (turn) this.put("turn", turn);
    else {
      this.exec("DELETE FROM meta WHERE key = 'turn'");
      this.meta.set("turn", undefined);
    }
  }

  /**
   * Webhook events the object has decided on but the index (D1) has not stored yet: written here at
   * the moment of their cause, removed once D1 has them, so a failure in between only delays them.
   */
  outbox(): StoredEvent[] {
    return this.sql
      .exec<{ event: string }>("SELECT event FROM outbox ORDER BY rowid")
      .toArray()
      .map((r) => JSON.parse(r.event) as StoredEvent);
  }

  addToOutbox(list: StoredEvent[]): void {
    for (const event of list) this.exec("INSERT OR IGNORE INTO outbox (id, event) VALUES (?, ?)", event.id, JSON.stringify(event));
  }

  removeFromOutbox(ids: string[]): void {
    for (const id of ids) this.exec("DELETE FROM outbox WHERE id = ?", id);
  }

  /**
   * What the turns consumed that the index (D1) has not counted yet: added when a turn ends, taken
   * off once D1 has it, so a failed write only delays it.
   */
  usage(): ConversationUsage {
    // Objects from before a metric existed stored usage without it.
    return conversationUsageOf(this.get<Partial<ConversationUsage>>("usage"));
  }

  /** A turn's usage: pending for the index, and added to the conversation's own (its record's `usage`). */
  addUsage(more: ConversationUsage): void {
    this.put("usage", addConversationUsage(this.usage(), more));
    const record = this.record();
    if (record) this.saveRecord({ ...record, usage: addConversationUsage(conversationUsageOf(record.usage), more) });
  }

  /** `written` reached D1: only it is taken off (turns that ended meanwhile stay pending). */
  usageWritten(written: ConversationUsage): void {
    if (isNoUsage(written)) return;
    this.put("usage", addConversationUsage(this.usage(), written, -1));
  }

  addMessage(message: NewMessage, now: number): MessageJson {
    const row: MessageRow = {
      id: newId("msg"),
      role: message.role,
      content: message.content,
      turn_id: message.turnId,
      interrupted: message.interrupted ? 1 : 0,
      created_at: now,
      tool: message.tool ? JSON.stringify(message.tool) : null,
    };
    this.exec(
      "INSERT INTO messages (id, role, content, turn_id, interrupted, created_at, tool) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.id,
      row.role,
      row.content,
      row.turn_id,
      row.interrupted,
      row.created_at,
      row.tool,
    );
    const json = messageJson(row);
    this.transcript?.push(json);
    return json;
  }

  /** A page of messages, newest first, after the message `startingAfter` (undefined: unknown cursor). */
  messagePage(limit: number, startingAfter?: string): { data: MessageJson[]; hasMore: boolean } | undefined {
    const newestFirst = this.messages().reverse();
    const start = startingAfter === undefined ? 0 : newestFirst.findIndex((m) => m.id === startingAfter) + 1;
    if (start === 0 && startingAfter !== undefined) return undefined;
    return { data: newestFirst.slice(start, start + limit), hasMore: newestFirst.length > start + limit };
  }

  /** The newest `limit` messages (all when absent), oldest first. */
  messages(limit?: number): MessageJson[] {
    this.transcript ??= this.exec<MessageRow>("SELECT * FROM messages ORDER BY rowid").toArray().map(messageJson);
    return limit === undefined ? [...this.transcript] : this.transcript.slice(-limit);
  }

  /**
   * The highest seq that may have been sent before it was logged (events.ts `stream`): after a
   * restart the sequence goes on past it, so no seq a client may hold is used twice.
   */
  seqReserved(): number {
    return this.get<number>("seq_reserved") ?? 0;
  }

  saveSeqReserved(seq: number): void {
    this.put("seq_reserved", seq);
  }

  /** The newest logged event's seq (0 when none). */
  lastSeq(): number {
    return this.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM events").one().seq ?? 0;
  }

  appendEvent(seq: number, ts: number, frame: string): void {
    this.exec(INSERT_EVENT, seq, ts, frame);
  }

  /** `appendEvent`, written later (see `behind`); the log's readers see it at once. */
  appendEventSoon(seq: number, ts: number, frame: string): void {
    this.later(() => this.sql.exec(INSERT_EVENT, seq, ts, frame));
  }

  /** The first `limit` stored events after `seq`, in order, as sent. */
  eventsAfter(seq: number, limit: number): { seq: number; frame: string }[] {
    return this.exec<{ seq: number; frame: string }>("SELECT seq, frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit).toArray();
  }

  /** How many stored events come after `seq`. */
  countEventsAfter(seq: number): number {
    return this.exec<{ n: number }>("SELECT count(*) AS n FROM events WHERE seq > ?", seq).one().n;
  }

  /** The oldest event still held (0 when none): a resume from before it has a gap. */
  firstSeq(): number {
    return this.exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM events").one().seq ?? 0;
  }

  /**
   * Drops events older than `before`, always keeping the newest one: the sequence continues from it
   * (it is the only record of the last seq) after a restart. Events are in time order by seq, so
   * this walks only the rows it deletes (the audio makes the table large: no scans).
   */
  pruneEvents(before: number): void {
    this.exec("DELETE FROM events WHERE seq < coalesce((SELECT seq FROM events WHERE ts >= ? ORDER BY seq LIMIT 1), (SELECT max(seq) FROM events))", before);
  }

  /**
   * The time of the oldest event that pruning could drop (any but the newest, which is always
   * kept), to schedule the next pruning; null when there is nothing left to prune.
   */
  oldestPrunableEventAt(): number | null {
    return this.exec<{ ts: number }>("SELECT ts FROM events WHERE seq < (SELECT max(seq) FROM events) ORDER BY seq LIMIT 1").toArray()[0]?.ts ?? null;
  }
}
