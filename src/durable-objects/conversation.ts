import { DurableObject } from "cloudflare:workers";
import type { BatchItem } from "drizzle-orm/batch";
import { getConfig } from "../config";
import { createDb } from "../db/client";
import { type ConversationRecord, markEnded, markStarted } from "../db/conversations";
import type { EndReason, UsageMetric } from "../db/schema";
import { usageUpsert } from "../db/usage";
import { encodeBase64 } from "../lib/crypto";
import { ApiError, type ErrorCode } from "../lib/errors";
import { newId } from "../lib/ids";
import { createLogger, type Logger } from "../lib/logger";
import { sseEvent } from "../lib/sse";
import { llmProvider } from "../providers/llm";
import { ttsProvider } from "../providers/tts";
import type { SpeechChunk } from "../providers/tts/types";
import { dispatchEvents } from "../webhooks/dispatch";
import { buildEvent, insertEvents, type StoredEvent } from "../webhooks/events";
import { admitTurn, turnsOfKeyRevoked } from "./conversation/admission";
import { EventStream, FrameLimiter, type Listener } from "./conversation/events";
import { chatHistory } from "./conversation/history";
import { EVENT_RETENTION_MS, planNext, warningLeadMs } from "./conversation/limits";
import { runTurn, type TurnInput, type TurnOutcome, type TurnUsage } from "./conversation/pipeline";
import { decodeIdentity, identityOf, mayClientSend, SOCKET_IDENTITY_HEADER, type SocketIdentity } from "./conversation/sockets";
import { type ConversationSetup, ConversationStore, type TurnInFlight } from "./conversation/store";
import {
  type ConversationJson,
  conversationJson,
  KEEP_ALIVE_ACK,
  KEEP_ALIVE_FRAME,
  MAX_FRAMES_PER_SECOND,
  type MessageJson,
  parseClientFrame,
  type ServerEventBody,
  type TurnJson,
} from "./conversation.protocol";

/** An error as it crosses RPC: ApiError's class does not survive the trip, its fields do. */
export interface RpcError {
  code: ErrorCode;
  message: string;
  param?: string;
  headers?: Record<string, string>;
}
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: RpcError };

const rpcError = (err: ApiError): RpcError => ({
  code: err.code,
  message: err.message,
  ...(err.param === undefined ? {} : { param: err.param }),
  ...(Object.keys(err.headers).length === 0 ? {} : { headers: err.headers }),
});

const ENDED_MESSAGE = "The conversation has ended.";
const ended = (): Outcome<never> => ({ ok: false, error: { code: "conversation.ended", message: `${ENDED_MESSAGE} Create a new one to talk again.` } });

interface TurnResult {
  id: string;
  status: "completed" | "interrupted" | "failed";
  input: MessageJson | null;
  output: MessageJson | null;
  error?: ApiError;
}

/**
 * One conversation: its messages and event log (SQLite), its sockets (hibernation API: an idle
 * conversation costs nothing while its clients stay connected), its turns and its limits (one
 * alarm). Everything a socket receives is written to the event log first, in the same synchronous
 * block as the send, so a socket resuming with `?last_seq=` gets exactly what it missed.
 *
 * Turns run one at a time: a new one (typed or spoken input, a REST message, `avatar.speak`)
 * interrupts the one in progress and starts when it has closed. The Worker's routes reach this
 * object by RPC, and by `fetch` only for the WebSocket upgrade.
 */
export class Conversation extends DurableObject<Env> {
  private readonly store: ConversationStore;
  private readonly events: EventStream;
  private readonly frames = new FrameLimiter(MAX_FRAMES_PER_SECOND);
  /** Turns running or waiting for the one before them; aborting one interrupts it. */
  private readonly turns = new Set<AbortController>();
  private tail: Promise<unknown> = Promise.resolve();
  private ending: Promise<void> | undefined;
  /** Index writes run one after another, so two never flush the same outbox events. */
  private syncing: Promise<void> = Promise.resolve();
  private log: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ConversationStore(ctx.storage.sql);
    this.events = new EventStream(this.store, () => ctx.getWebSockets());
    this.log = createLogger({ conversation_id: this.store.record()?.id });
    // Answered by the runtime itself, so a keep-alive never wakes a hibernating conversation.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEP_ALIVE_FRAME, KEEP_ALIVE_ACK));
    this.closeLostTurn();
  }

  private get config() {
    return getConfig(this.env);
  }

  // --- RPC ------------------------------------------------------------------------------------

  /** Called once by the service that creates the conversation; a repeat changes nothing. */
  async init(record: ConversationRecord, setup: ConversationSetup): Promise<void> {
    if (this.store.record()) return;
    this.log = createLogger({ conversation_id: record.id });
    this.store.init(record, setup, { lastActivityAt: record.createdAt, warnedMax: false, warnedIdleFor: null, indexBehind: false });
    this.arm();
  }

  /** The conversation as it is now, with its newest messages. */
  snapshot(messages = 100): { record: ConversationRecord; messages: MessageJson[] } | null {
    const record = this.store.record();
    return record ? { record, messages: this.store.messages(messages) } : null;
  }

  /** A page of messages, newest first; null for an unknown conversation, undefined for an unknown cursor. */
  messagePage(limit: number, startingAfter?: string): { data: MessageJson[]; hasMore: boolean } | null | undefined {
    if (!this.store.record()) return null;
    return this.store.messagePage(limit, startingAfter);
  }

  /** A REST message: the whole turn, once it has been spoken. */
  async send(content: string): Promise<Outcome<TurnJson>> {
    if (this.isEnding()) return ended();
    const turn = await this.startTurn({ kind: "reply", text: content, replyTo: null });
    if (turn.status === "failed") return { ok: false, error: rpcError(turn.error ?? new ApiError("internal", "The turn failed.")) };
    if (!turn.input) return { ok: false, error: { code: "internal", message: "The turn has no input message." } };
    return { ok: true, value: { object: "turn", id: turn.id, status: turn.status, input: turn.input, output: turn.output } };
  }

  /** A REST message answered as server-sent events: the turn's events as the sockets get them. */
  async stream(content: string): Promise<Outcome<ReadableStream<Uint8Array>>> {
    if (this.isEnding()) return ended();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    // A reader that went away must not stop the turn: the sockets still get it.
    const listener: Listener = (frame, event) => void writer.write(sseEvent(frame, event.type, event.seq)).catch(() => {});
    const turn = this.startTurn({ kind: "reply", text: content, replyTo: null }, listener).finally(() => writer.close().catch(() => {}));
    this.ctx.waitUntil(turn);
    return { ok: true, value: readable };
  }

  /** Ends it (idempotent: an ended conversation keeps its first end and reason). */
  async end(reason: EndReason): Promise<ConversationRecord | null> {
    if (!this.store.record()) return null;
    this.ending ??= this.finish(reason);
    await this.ending;
    return this.store.record() ?? null;
  }

  /**
   * An API key of the org was revoked: every socket it opened, or opened with a client secret it
   * minted, gets `api_key.revoked` and is closed. (New sockets are refused by the Worker's route.)
   */
  keyRevoked(keyId: string): number {
    turnsOfKeyRevoked(this.env.RATE_LIMITER, keyId);
    let closed = 0;
    for (const ws of this.ctx.getWebSockets()) {
      if (identityOf(ws).keyId !== keyId) continue;
      this.events.sendError(ws, new ApiError("api_key.revoked", "The API key behind this socket has been revoked."));
      closeSocket(ws, POLICY_VIOLATION, "API key revoked");
      closed += 1;
    }
    return closed;
  }

  // --- WebSocket ------------------------------------------------------------------------------

  /** The upgrade, forwarded by the Worker's route once it has checked the caller. */
  override async fetch(request: Request): Promise<Response> {
    const record = this.store.record();
    if (!record) return errorResponse(new ApiError("conversation.not_found", "No such conversation."));
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(new ApiError("websocket.upgrade_required", "This endpoint speaks WebSocket only."));
    }
    const lastSeqParam = new URL(request.url).searchParams.get("last_seq");
    const lastSeq = lastSeqParam === null ? null : Number(lastSeqParam);
    if (lastSeq !== null && lastSeq > this.events.lastSeq) {
      return errorResponse(
        new ApiError("parameter.invalid", `'last_seq' is ahead of this conversation, whose last event is ${this.events.lastSeq}.`, { param: "last_seq" }),
      );
    }
    const identity = decodeIdentity(request.headers.get(SOCKET_IDENTITY_HEADER), Date.now());
    if (!identity) return errorResponse(new ApiError("internal", "The socket's credential was not passed on."));
    const { 0: client, 1: server } = new WebSocketPair();
    const full = this.ctx.getWebSockets().length >= this.config.conversationMaxSockets;
    this.ctx.acceptWebSocket(server);
    if (full) {
      // Accepted only to say why: a browser cannot read the body of a refused upgrade.
      const limit = this.config.conversationMaxSockets;
      this.events.sendError(
        server,
        new ApiError("conversation.too_many_sockets", `This conversation already has ${limit} sockets open, its limit; close one first.`),
      );
      server.close(POLICY_VIOLATION, "Too many sockets");
      return new Response(null, { status: 101, webSocket: client });
    }
    server.serializeAttachment(identity);
    const firstJoin = record.status === "active" && record.startedAt === null;
    if (firstJoin) record.startedAt = Date.now();
    if (record.status === "active") this.touch(firstJoin ? record : undefined);

    // From here to the return nothing awaits, so no live event can fall between the replay and
    // the live stream, or appear in both.
    const replay = lastSeq === null ? [] : this.store.eventsAfter(lastSeq);
    this.events.sendTo(server, {
      type: "session.ready",
      conversation: socketView(record, identity),
      replay:
        lastSeq === null
          ? null
          : { after_seq: lastSeq, events: replay.length, complete: lastSeq >= this.events.lastSeq || lastSeq + 1 >= this.store.firstSeq() },
    });
    for (const frame of replay) EventStream.resend(server, frame);
    if (record.status === "ended") server.close(1000, ENDED_MESSAGE);
    else if (firstJoin) this.begin();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const allowed = this.frames.check(ws);
    if (allowed !== "allow") {
      if (allowed === "warn") {
        this.events.sendError(
          ws,
          new ApiError("rate_limit.exceeded", `More than ${MAX_FRAMES_PER_SECOND} frames in a second: frames are dropped until the second is over.`),
        );
      }
      return;
    }
    if (typeof message !== "string") {
      this.events.sendError(ws, new ApiError("parameter.invalid", "Binary frames will carry voice input, which is not available yet; send JSON text frames."));
      return;
    }
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      this.events.sendError(ws, parsed.error, parsed.replyTo ?? null);
      return;
    }
    const { event } = parsed;
    const replyTo = event.event_id ?? null;
    const identity = identityOf(ws);
    if (!mayClientSend(identity, event.type, this.store.record()?.clientPermissions ?? [])) {
      this.events.sendError(
        ws,
        new ApiError(
          "scope.denied",
          `A client secret may not send '${event.type}' in this conversation; create it with client_permissions naming it, or send it from your backend.`,
        ),
        replyTo,
      );
      return;
    }
    switch (event.type) {
      case "input.text":
      case "avatar.speak": {
        if (this.isEnding()) {
          this.events.sendError(ws, new ApiError("conversation.ended", ENDED_MESSAGE), replyTo);
          return;
        }
        const admission = await this.admit(identity);
        if (!admission.ok) {
          this.events.sendError(ws, admission.error, replyTo);
          if (admission.revoked) closeSocket(ws, POLICY_VIOLATION, "API key revoked");
          return;
        }
        // Awaited so the object stays busy (and awake) for the whole turn; other frames, an
        // interrupt among them, are still delivered meanwhile.
        await this.startTurn({ kind: event.type === "input.text" ? "reply" : "speak", text: event.text, replyTo });
        return;
      }
      case "avatar.interrupt":
        this.interrupt();
        return;
      case "session.keep_alive":
        this.events.sendTo(ws, { type: "session.keep_alive.ack" }, replyTo);
        return;
      case "session.end":
        await this.end("client_ended");
        return;
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005 and 1006 mean "no code" / "no close frame": they may not be sent back.
    closeSocket(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  // --- Limits ---------------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const record = this.store.record();
    const limits = this.store.limits();
    const plan = this.store.plan();
    if (!record || !limits) return;
    if (plan?.kind === "expiring" && record.status === "active") {
      if (plan.reason === "idle_timeout" && this.turns.size > 0) {
        this.touch();
        return;
      }
      const leadS = warningLeadMs(plan.reason === "max_duration" ? record.maxDurationS : record.idleTimeoutS) / 1000;
      const secondsLeft = Math.max(0, Math.min(leadS, Math.ceil((plan.endsAt - Date.now()) / 1000)));
      if (plan.reason === "max_duration") limits.warnedMax = true;
      else limits.warnedIdleFor = limits.lastActivityAt;
      this.store.saveLimits(limits);
      this.events.emit({ type: "session.expiring", seconds_left: secondsLeft, reason: plan.reason });
    } else if (plan?.kind === "end" && record.status === "active") {
      // A reply in progress is activity: the idle clock starts again when it ends.
      if (plan.reason === "idle_timeout" && this.turns.size > 0) {
        this.touch();
        return;
      }
      await this.end(plan.reason);
      return;
    } else {
      this.store.pruneEvents(Date.now() - EVENT_RETENTION_MS);
      if (limits.indexBehind) await this.syncIndex();
    }
    this.arm();
  }

  /** Stores the next timed action and sets the alarm for it. */
  private arm(): void {
    const record = this.store.record();
    const limits = this.store.limits();
    if (!record || !limits) return;
    const plan = planNext(record, limits, Date.now(), this.store.oldestPrunableEventAt());
    this.store.savePlan(plan);
    // Storage calls need no await here: the output gate holds replies until they are durable.
    if (plan) void this.ctx.storage.setAlarm(plan.at);
    else void this.ctx.storage.deleteAlarm();
  }

  /** Activity: the idle clock starts again (and `record`, when given, is saved with it). */
  private touch(record?: ConversationRecord): void {
    const limits = this.store.limits();
    if (!limits) return;
    if (record) this.store.saveRecord(record);
    this.store.saveLimits({ ...limits, lastActivityAt: Date.now() });
    this.arm();
  }

  // --- Turns ----------------------------------------------------------------------------------

  private isEnding(): boolean {
    return this.ending !== undefined || this.store.record()?.status !== "active";
  }

  /** The first socket has joined: the index learns the start, and the greeting is spoken. */
  private begin(): void {
    const record = this.store.record();
    if (record)
      this.store.addToOutbox([buildEvent(record.orgId, "conversation.started", { conversation: conversationJson(record) }, record.startedAt ?? Date.now())]);
    this.ctx.waitUntil(this.syncIndex());
    const greeting = this.store.setup()?.greeting;
    if (greeting) this.ctx.waitUntil(this.startTurn({ kind: "speak", text: greeting, replyTo: null }));
  }

  /** A turn a socket starts costs one unit of the org's rate limit (conversation/admission.ts). */
  private admit(identity: SocketIdentity) {
    const record = this.store.record();
    if (!record) return Promise.resolve({ ok: true as const });
    return admitTurn(this.env.RATE_LIMITER, record.orgId, identity, { enabled: this.config.rateLimiting, waitUntil: (work) => this.ctx.waitUntil(work) });
  }

  private interrupt(): void {
    for (const turn of this.turns) turn.abort();
  }

  /** Queues a turn behind the current one, which it interrupts. `listener` hears this turn's events. */
  private startTurn(request: { kind: "reply" | "speak"; text: string; replyTo: string | null }, listener?: Listener): Promise<TurnResult> {
    this.interrupt();
    const abort = new AbortController();
    this.turns.add(abort);
    const run = this.tail.then(() => this.runOne(request, abort, listener)).finally(() => this.turns.delete(abort));
    this.tail = run.catch(() => {});
    return run;
  }

  private async runOne(
    request: { kind: "reply" | "speak"; text: string; replyTo: string | null },
    abort: AbortController,
    listener?: Listener,
  ): Promise<TurnResult> {
    const record = this.store.record();
    const setup = this.store.setup();
    if (!record || !setup) throw new Error("conversation not initialised");
    const turnId = newId("turn");
    const emit = (body: ServerEventBody) => this.events.emit(body, request.replyTo, listener);
    const now = () => Date.now();

    const inFlight: TurnInFlight = { id: turnId, replyTo: request.replyTo, speechStarted: false, spoken: "" };
    const format = record.outputAudioFormat;
    const sink = {
      delta: (delta: string) => emit({ type: "agent.response.delta", turn_id: turnId, delta }),
      speechStarted: () => {
        inFlight.speechStarted = true;
        this.store.saveTurn(inFlight);
        emit({ type: "avatar.speech.started", turn_id: turnId });
      },
      audio: (chunk: SpeechChunk, spokenSoFar: string) => {
        inFlight.spoken = spokenSoFar;
        this.store.saveTurn(inFlight);
        emit({ type: "avatar.audio.delta", turn_id: turnId, audio: encodeBase64(chunk.audio), format, alignment: chunk.alignment });
      },
    };
    const run = (input: TurnInput) =>
      runTurn(input, { provider: ttsProvider(setup.tts.provider), voice: setup.tts.voice, format }, sink, {
        signal: abort.signal,
        config: this.config,
        log: this.log.with({ turn_id: turnId }),
        now,
      });
    const cancelled = abort.signal.aborted || this.ending !== undefined;
    const llm = llmProvider(setup.llm.provider);

    // The model is asked before anything is written: a Durable Object holds back every outgoing
    // request until its writes are durable, and the model's first token matters more than the
    // user's message being stored a moment earlier. (Nothing the turn reports can come before
    // the message.created below: the answer arrives in a later task.)
    let outcome: Promise<TurnOutcome> | undefined;
    if (!cancelled && request.kind === "reply" && llm) {
      const transcript = [...this.store.messages(), { role: "user" as const, content: request.text }];
      outcome = run({
        kind: "reply",
        llm,
        request: { model: setup.llm.model, messages: chatHistory(setup.systemPrompt, transcript, setup.llm.contextWindow) },
      });
    }

    let input: MessageJson | null = null;
    if (request.kind === "reply") {
      input = this.store.addMessage({ role: "user", content: request.text, turnId, interrupted: false }, now());
      emit({ type: "message.created", message: input });
    }
    if (cancelled) {
      emit({ type: "avatar.interrupted", turn_id: turnId, spoken_text: "" });
      return { id: turnId, status: "interrupted", input, output: null };
    }
    this.store.saveTurn(inFlight);
    this.touch();
    const result = await (outcome ?? run({ kind: "speak", text: request.text }));

    let output: MessageJson | null = null;
    let error: ApiError | undefined;
    if (result.status === "completed") {
      if (result.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: turnId });
      output = this.store.addMessage({ role: "assistant", content: result.text.trim(), turnId, interrupted: false }, now());
      emit({ type: "agent.response.done", turn_id: turnId, message: output });
    } else {
      const spoken = result.spoken.trim();
      if (result.status === "interrupted") {
        emit({ type: "avatar.interrupted", turn_id: turnId, spoken_text: spoken });
      } else {
        error = asApiError(result.error, this.log);
        emit({ type: "error", code: error.code, message: error.message, ...(error.param === undefined ? {} : { param: error.param }) });
      }
      if (result.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: turnId });
      if (spoken !== "") {
        output = this.store.addMessage({ role: "assistant", content: spoken, turnId, interrupted: true }, now());
        emit({ type: "message.created", message: output });
      }
    }
    emit({ type: "metrics.turn", turn_id: turnId, ...result.metrics });
    this.countUsage(result.usage);
    this.store.saveTurn(undefined);
    this.store.pruneEvents(now() - EVENT_RETENTION_MS);
    if (!this.ending) this.touch();
    return { id: turnId, status: result.status, input, output, ...(error ? { error } : {}) };
  }

  /** A turn's speech and model tokens, for the org's usage: kept here, then written to D1 off the turn's path. */
  private countUsage(usage: TurnUsage): void {
    if (usage.ttsCharacters + usage.llmInputTokens + usage.llmOutputTokens === 0) return;
    this.store.addUsage({ tts_characters: usage.ttsCharacters, llm_input_tokens: usage.llmInputTokens, llm_output_tokens: usage.llmOutputTokens });
    this.ctx.waitUntil(this.syncIndex());
  }

  /**
   * A turn the object was running when it stopped (a deploy, a crash) can never finish: it is
   * closed as interrupted with what had been sent as audio, so no client waits for it forever.
   */
  private closeLostTurn(): void {
    const lost = this.store.turn();
    if (!lost) return;
    const emit = (body: ServerEventBody) => this.events.emit(body, lost.replyTo);
    const spoken = lost.spoken.trim();
    emit({ type: "avatar.interrupted", turn_id: lost.id, spoken_text: spoken });
    if (lost.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: lost.id });
    if (spoken !== "") {
      const message = this.store.addMessage({ role: "assistant", content: spoken, turnId: lost.id, interrupted: true }, Date.now());
      emit({ type: "message.created", message });
    }
    this.store.saveTurn(undefined);
  }

  private async finish(reason: EndReason): Promise<void> {
    if (this.store.record()?.status !== "active") return;
    this.interrupt();
    await this.tail;
    const record = this.store.record();
    if (!record) return;
    const endedAt = Date.now();
    const ended: ConversationRecord = { ...record, status: "ended", endedAt, endReason: reason };
    this.store.saveRecord(ended);
    this.store.addToOutbox(this.endEvents(ended));
    this.events.emit({ type: "session.ended", reason });
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, 1000, ENDED_MESSAGE);
    await this.syncIndex();
    this.arm();
  }

  /** `conversation.ended` and `conversation.transcript.ready`, decided when the conversation ends. */
  private endEvents(record: ConversationRecord): StoredEvent[] {
    const endedAt = record.endedAt ?? Date.now();
    const messages = this.store.messages();
    const conversation = conversationJson(record);
    const inline = new TextEncoder().encode(JSON.stringify(messages)).byteLength <= TRANSCRIPT_INLINE_BYTES;
    // The socket URL is the one address of this conversation the object knows; its messages live beside it.
    const transcriptUrl = record.transportUrl.replace(/^ws(s?):/, "http$1:").replace(/\/ws$/, "/messages");
    return [
      buildEvent(
        record.orgId,
        "conversation.ended",
        {
          conversation,
          reason: record.endReason,
          duration_s: talkedSeconds(record.startedAt, endedAt),
          message_count: messages.length,
        },
        endedAt,
      ),
      buildEvent(
        record.orgId,
        "conversation.transcript.ready",
        {
          conversation_id: record.id,
          message_count: messages.length,
          messages: inline ? messages : null,
          transcript_url: inline ? null : transcriptUrl,
        },
        endedAt,
      ),
    ];
  }

  private syncIndex(): Promise<void> {
    this.syncing = this.syncing.then(() => this.writeIndex());
    return this.syncing;
  }

  /**
   * Tells the index (D1) the start or the end, with the webhook events waiting in the outbox, and
   * with the end counts the conversation's seconds for the org, all in one batch: a retry can never
   * count them twice, and an event reaches D1 exactly when what caused it does. Then the events go
   * to the queue (a failure there is the sweep's to repair).
   */
  private async writeIndex(): Promise<void> {
    const record = this.store.record();
    const limits = this.store.limits();
    if (!record || !limits) return;
    const db = createDb(this.env.DB);
    const outbox = this.store.outbox();
    const usage = this.store.usage();
    const now = Date.now();
    const statements: BatchItem<"sqlite">[] = [
      ...(outbox.length > 0 ? [insertEvents(db, outbox)] : []),
      ...Object.entries(usage)
        .filter(([, quantity]) => quantity > 0)
        .map(([metric, quantity]) => usageUpsert(db, record.orgId, metric as UsageMetric, quantity, now)),
    ];
    try {
      if (record.status === "ended" && record.endedAt !== null && record.endReason !== null) {
        const seconds = talkedSeconds(record.startedAt, record.endedAt);
        const end = markEnded(db, record.id, { endedAt: record.endedAt, endReason: record.endReason, startedAt: record.startedAt });
        await db.batch([end, ...statements, ...(seconds > 0 ? [usageUpsert(db, record.orgId, "conversation_seconds", seconds, record.endedAt)] : [])]);
      } else if (record.startedAt !== null) {
        // Idempotent (the first start only), so a write for usage alone may repeat it.
        await db.batch([markStarted(db, record.id, record.startedAt), ...statements]);
      } else {
        const [first, ...rest] = statements;
        if (first) await db.batch([first, ...rest]);
      }
      this.store.usageWritten(usage);
      if (limits.indexBehind) this.store.saveLimits({ ...(this.store.limits() ?? limits), indexBehind: false });
    } catch (err) {
      this.log.warn("conversation index not updated; retrying later", { error: err });
      this.store.saveLimits({ ...(this.store.limits() ?? limits), indexBehind: true });
      this.arm();
      return;
    }
    if (outbox.length === 0) return;
    this.store.removeFromOutbox(outbox.map((e) => e.id));
    await dispatchEvents({ db, queue: this.env.WEBHOOKS, log: this.log }, outbox);
  }
}

/** Whole seconds from the first socket to the end (what `conversation.ended` reports and usage counts). */
const talkedSeconds = (startedAt: number | null, endedAt: number): number => (startedAt === null ? 0 : Math.ceil((endedAt - startedAt) / 1000));

/** A transcript up to this size rides in its event; a longer one is fetched from `transcript_url`. */
const TRANSCRIPT_INLINE_BYTES = 16 * 1024;

function asApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  log.error("turn failed", { error: err });
  return new ApiError("internal", "The reply failed; the conversation can continue.");
}

/** RFC 6455's "policy violation": the close code of a socket refused or closed for what it is allowed. */
const POLICY_VIOLATION = 1008;

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing or closed.
  }
}

/**
 * The conversation as a socket is shown it: a browser's client secret does not get `metadata`,
 * which is the backend's (user ids, CRM references) and not the browser's to read.
 */
function socketView(record: ConversationRecord, identity: SocketIdentity): ConversationJson | Omit<ConversationJson, "metadata"> {
  const json = conversationJson(record);
  if (identity.credential === "api_key") return json;
  const { metadata: _hidden, ...rest } = json;
  return rest;
}

/** An error the Worker's route turns back into the envelope (the object has no request id). */
function errorResponse(error: ApiError): Response {
  return Response.json({ error: rpcError(error) }, { status: error.status });
}
