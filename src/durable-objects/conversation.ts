import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config";
import type { ConversationRecord } from "../db/conversations";
import type { EndReason } from "../db/schema";
import type { JsonValue } from "../db/tools";
import { NO_CONVERSATION_USAGE } from "../db/usage";
import { changeVoiceInput } from "../db/voice-input";
import { decodeBase64 } from "../lib/bytes";
import { ApiError } from "../lib/errors";
import { createLogger, type Logger } from "../lib/logger";
import { sseEvent } from "../lib/sse";
import { chooseStt } from "../providers/stt/choose";
import type { SttStream, SttStreamEvents } from "../providers/stt/types";
import { type Admission, admitTurn, claimPlace, releasePlace, turnsOfKeyRevoked } from "./conversation/admission";
import {
  CALLER_HEADER,
  type Caller,
  type Connection,
  closeSocket,
  connectionOf,
  decodeCaller,
  keyTag,
  newConnection,
  POLICY_VIOLATION,
  upgradeResponse,
} from "./conversation/connections";
import { type ConversationSetup, ENDED_MESSAGE, endedError, errorResponse, failure, type Outcome } from "./conversation/contract";
import { EventStream, FrameLimiter, type Listener } from "./conversation/events";
import { IndexSync } from "./conversation/index-sync";
import { EVENT_RETENTION_MS, planNext, QUOTA_RETRY_MS, warningLeadMs } from "./conversation/limits";
import { ConversationQuota } from "./conversation/quota";
import { ConversationStore } from "./conversation/store";
import { PendingToolCalls } from "./conversation/tool-calls";
import { type TurnRequest, type TurnResult, TurnRunner } from "./conversation/turn-runner";
import { TurnQueue } from "./conversation/turns";
import type { VoiceTiming } from "./conversation/voice-input";
import { VoiceSockets } from "./conversation/voice-sockets";
import {
  type ClientEvent,
  type ConversationJson,
  conversationJson,
  KEEP_ALIVE_ACK,
  KEEP_ALIVE_FRAME,
  MAX_FRAMES_PER_SECOND,
  type MessageJson,
  parseClientFrame,
  type TurnJson,
} from "./conversation.protocol";

/**
 * One conversation: the entry points of its Durable Object. The rooms behind them:
 * - `conversation/store.ts` (+ `schema.ts`): its SQLite storage (settings, messages, event log,
 *   turn in flight, outbox), migrated by version;
 * - `conversation/events.ts`: what sockets receive (logged with a seq, ephemeral, or for one socket)
 *   and resumes;
 * - `conversation/connections.ts`: each socket's identity (id, credential, key, permissions);
 * - `conversation/turns.ts`: turn taking (one at a time; interrupt and enqueue) and the avatar's state;
 * - `conversation/voice-sockets.ts` → `voice-input.ts` (+ `vad.ts`, `backchannel.ts`): the user's
 *   voice, from audio frames to user turns, with turn detection and barge-in;
 * - `conversation/turn-runner.ts` → `pipeline.ts` → `speech-queue.ts`: one turn, LLM to paced audio;
 * - `conversation/limits.ts`: the one alarm (duration and idle limits, housekeeping);
 * - `conversation/index-sync.ts`: what the rest of the system is owed (D1 index, usage, webhooks);
 * - `conversation/contract.ts`: what the Worker's services and this object agree on.
 * The Worker's routes reach it by RPC, and by `fetch` only for the WebSocket upgrade. Sockets use the
 * hibernation API: an idle conversation costs nothing while its clients stay connected.
 */
export class Conversation extends DurableObject<Env> {
  private readonly store: ConversationStore;
  private readonly events: EventStream;
  private readonly frames = new FrameLimiter(MAX_FRAMES_PER_SECOND);
  private readonly turns: TurnQueue;
  private readonly runner: TurnRunner;
  private readonly index: IndexSync;
  private readonly voice: VoiceSockets;
  private readonly quota: ConversationQuota;
  /** Client tool calls waiting for a socket's `tool.result`. */
  private readonly toolCalls = new PendingToolCalls();
  /** Aborted when the conversation ends: every STT session it opened closes with it. */
  private readonly voiceAbort = new AbortController();
  private ending: Promise<void> | undefined;
  private log: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ConversationStore(ctx.storage);
    this.events = new EventStream(this.store, () => ctx.getWebSockets());
    this.log = createLogger({ conversation_id: this.store.record()?.id });
    this.turns = new TurnQueue((state) => this.events.broadcast({ type: "avatar.state", state }));
    this.index = new IndexSync({ env, store: this.store, log: () => this.log, onBehind: () => this.arm() });
    this.quota = new ConversationQuota(() => ({ limiter: env.RATE_LIMITER, enabled: this.config.rateLimiting }), this.store);
    this.runner = new TurnRunner({
      store: this.store,
      events: this.events,
      config: () => this.config,
      log: () => this.log,
      touch: () => this.touch(),
      ending: () => this.ending !== undefined,
      usage: (u) => {
        const turn = { tts_characters: u.ttsCharacters, llm_input_tokens: u.llmInputTokens, llm_output_tokens: u.llmOutputTokens };
        this.ctx.waitUntil(this.quota.afterTurn(u).catch((err: unknown) => this.log.warn("turn not counted against the quotas", { error: err })));
        if (this.index.usage({ ...NO_CONVERSATION_USAGE, ...turn, llm_tokens_estimated: u.llmEstimatedTokens })) {
          this.ctx.waitUntil(this.index.usageWithin(this.config.usageConversationsBatchMs));
        }
      },
      defaultLeadMs: () => this.config.conversationAudioLeadMs,
      pendingToolCalls: this.toolCalls,
      canAnswerTool: (clientSecretMayAnswer) =>
        ctx.getWebSockets("credential:api_key").length > 0 || (clientSecretMayAnswer && ctx.getWebSockets("credential:client_secret").length > 0),
    });
    this.voice = new VoiceSockets({
      settings: () => this.store.record()?.voiceInput,
      openStt: (events) => this.openStt(events),
      avatarBusy: () => this.turns.busy,
      idleCloseMs: () => this.config.voiceSttIdleMs,
      currentTurnId: () => this.runner.currentTurnId,
      emit: (body) => this.events.emit(body),
      broadcast: (body) => this.events.broadcast(body),
      sendError: (ws, error) => this.events.sendError(ws, error),
      interrupt: () => this.turns.interrupt(),
      listening: (on) => this.turns.listening(on),
      startTurn: (ws, connection, text, timing, interrupt) => this.ctx.waitUntil(this.voiceTurn(ws, connection, text, timing, interrupt)),
      // Written with the next sync (a turn's usage write, the alarm's housekeeping, the conversation's end).
      usage: (seconds) => this.index.usage({ ...NO_CONVERSATION_USAGE, stt_seconds: seconds }),
    });
    // Answered by the runtime itself, so a keep-alive never wakes a hibernating conversation.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEP_ALIVE_FRAME, KEEP_ALIVE_ACK));
    this.runner.closeLost();
    const sockets = ctx.getWebSockets().length;
    if (sockets > 0) this.log.debug("woke with open sockets", { sockets });
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
    if (this.isEnding()) return failure(endedError());
    const overQuota = this.quota.blocked();
    if (overQuota) return failure(overQuota);
    const turn = await this.startTurn({ kind: "reply", text: content, replyTo: null, viaSocket: false });
    if (turn.status === "failed") return failure(turn.error ?? new ApiError("internal", "The turn failed."));
    if (!turn.input) return failure(new ApiError("internal", "The turn has no input message."));
    return { ok: true, value: { object: "turn", id: turn.id, status: turn.status, input: turn.input, output: turn.output } };
  }

  /** A REST message answered as server-sent events: the turn's events as the sockets get them. */
  async stream(content: string): Promise<Outcome<ReadableStream<Uint8Array>>> {
    if (this.isEnding()) return failure(endedError());
    const overQuota = this.quota.blocked();
    if (overQuota) return failure(overQuota);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    // A reader that went away must not stop the turn: the sockets still get it.
    const listener: Listener = (frame, event) => void writer.write(sseEvent(frame, event.type, event.seq)).catch(() => {});
    const turn = this.startTurn({ kind: "reply", text: content, replyTo: null, viaSocket: false }, listener).finally(() => writer.close().catch(() => {}));
    this.ctx.waitUntil(turn);
    return { ok: true, value: readable };
  }

  /** Ends it (idempotent: an ended conversation keeps its first end and reason). */
  async end(reason: EndReason, replyTo: string | null = null): Promise<ConversationRecord | null> {
    if (!this.store.record()) return null;
    this.ending ??= this.finish(reason, replyTo);
    await this.ending;
    return this.store.record() ?? null;
  }

  /**
   * An API key of the org was revoked: every socket it opened, or opened with a client secret it
   * minted, gets `api_key.revoked` and is closed. (New sockets are refused by the Worker's route.)
   */
  keyRevoked(keyId: string): number {
    turnsOfKeyRevoked(this.env.RATE_LIMITER, keyId);
    const sockets = this.ctx.getWebSockets(keyTag(keyId));
    for (const ws of sockets) {
      this.events.sendError(ws, new ApiError("api_key.revoked", "The API key behind this socket has been revoked."));
      closeSocket(ws, POLICY_VIOLATION, "API key revoked");
    }
    return sockets.length;
  }

  // --- WebSocket ------------------------------------------------------------------------------

  /** The upgrade, forwarded by the Worker's route once it has checked the caller. */
  override async fetch(request: Request): Promise<Response> {
    const record = this.store.record();
    if (!record) return errorResponse(new ApiError("conversation.not_found", "No such conversation."));
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(new ApiError("websocket.upgrade_required", "This endpoint speaks WebSocket only."));
    }
    // The route checked the form (decimal digits only); the object knows where its log stands.
    const lastSeqParam = new URL(request.url).searchParams.get("last_seq");
    const lastSeq = lastSeqParam === null ? null : Number(lastSeqParam);
    if (lastSeq !== null && lastSeq > this.events.lastSeq) {
      return errorResponse(
        new ApiError("parameter.invalid", `'last_seq' is ahead of this conversation, whose last event is ${this.events.lastSeq}.`, { param: "last_seq" }),
      );
    }
    const caller = decodeCaller(request.headers.get(CALLER_HEADER));
    if (!caller) return errorResponse(new ApiError("internal", "The socket's credential was not passed on."));
    if (this.ctx.getWebSockets().length >= this.config.conversationMaxSockets) {
      const limit = this.config.conversationMaxSockets;
      return this.refuseSocket(
        new ApiError("conversation.too_many_sockets", `This conversation already has ${limit} sockets open, its limit; close one first.`),
        "Too many sockets",
      );
    }
    if (record.status === "active" && record.startedAt === null && this.config.rateLimiting) {
      const refused = await this.takePlace(record, caller.orgConcurrency);
      if (refused) return this.refuseSocket(refused, refused.code === "conversation.concurrency_limit" ? "Too many conversations" : "Over quota");
    }
    return this.accept(caller, lastSeq);
  }

  /**
   * The first socket starts the conversation: it takes one of the org's places (admission.ts) and
   * its first minute of the daily quota of seconds, if one applies (quota.ts); or says why not.
   */
  private async takePlace(record: ConversationRecord, cap: number): Promise<ApiError | undefined> {
    const refused = await claimPlace(this.env.RATE_LIMITER, record, cap);
    if (refused) return refused;
    if (this.store.limits()?.secondsQuota) return undefined;
    const quota = await this.quota
      .start(Date.now())
      .catch(() => ({ refused: new ApiError("rate_limit.unavailable", "The quota counter cannot be reached; try again in a few seconds.") }));
    const limits = this.store.limits();
    if ("refused" in quota) {
      if (!limits?.secondsQuota) await releasePlace(this.env.RATE_LIMITER, record).catch(() => {});
      return quota.refused;
    }
    if (!quota.state || !limits) return undefined;
    // Another first socket took the seconds meanwhile: these go back.
    if (limits.secondsQuota) this.ctx.waitUntil(this.quota.giveBack(quota.state).catch(() => {}));
    else this.store.saveLimits({ ...limits, secondsQuota: quota.state });
    return undefined;
  }

  /** Accepted only to say why: a browser cannot read the body of a refused upgrade. */
  private refuseSocket(error: ApiError, reason: string): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.events.sendError(server, error);
    server.close(POLICY_VIOLATION, reason);
    return upgradeResponse(client);
  }

  private accept(caller: Caller, lastSeq: number | null): Response {
    const record = this.store.record();
    if (!record) return errorResponse(new ApiError("conversation.not_found", "No such conversation."));
    const { 0: client, 1: server } = new WebSocketPair();
    const now = Date.now();
    const { connection, tags } = newConnection(caller, record.clientPermissions, now);
    this.ctx.acceptWebSocket(server, tags);
    server.serializeAttachment(connection);
    const firstJoin = record.status === "active" && record.startedAt === null;
    if (firstJoin) record.startedAt = now;
    if (record.status === "active") this.touch(firstJoin ? record : undefined);

    // session.ready, then the replay (in slices; live events reach this socket through the log
    // until it has caught up), then live events.
    this.events.sendTo(server, {
      type: "session.ready",
      conversation: socketView(record, connection, now),
      socket_id: connection.id,
      last_seq: this.events.lastSeq,
      state: this.turns.state,
      audio_lead_ms: this.store.setup()?.audioLeadMs ?? this.config.conversationAudioLeadMs,
      replay:
        lastSeq === null
          ? null
          : {
              after_seq: lastSeq,
              events: this.store.countEventsAfter(lastSeq),
              complete: lastSeq >= this.events.lastSeq || lastSeq + 1 >= this.store.firstSeq(),
            },
    });
    const replayed = lastSeq === null ? Promise.resolve() : this.events.replay(server, lastSeq);
    if (record.status === "ended") this.ctx.waitUntil(replayed.then(() => closeSocket(server, 1000, ENDED_MESSAGE)));
    else this.ctx.waitUntil(replayed);
    if (firstJoin) this.begin();
    return upgradeResponse(client);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Audio has its own budget, in bytes (a microphone sends 50 frames a second).
    if (typeof message !== "string") {
      this.onAudio(ws, connectionOf(ws), new Uint8Array(message), null);
      return;
    }
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
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      this.events.sendError(ws, parsed.error, parsed.replyTo ?? null);
      return;
    }
    const { event } = parsed;
    const replyTo = event.event_id ?? null;
    const connection = connectionOf(ws);
    if (!connection.permissions.includes(event.type)) {
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
    await this.onClientEvent(ws, connection, event, replyTo);
  }

  private async onClientEvent(ws: WebSocket, connection: Connection, event: ClientEvent, replyTo: string | null): Promise<void> {
    switch (event.type) {
      case "input.text":
      case "avatar.speak": {
        if (this.isEnding()) {
          this.events.sendError(ws, new ApiError("conversation.ended", ENDED_MESSAGE), replyTo);
          return;
        }
        const admission = await this.admit(connection);
        if (!admission.ok) {
          this.events.sendError(ws, admission.error, replyTo);
          if (admission.revoked) closeSocket(ws, POLICY_VIOLATION, "API key revoked");
          return;
        }
        // Awaited so the object stays busy (and awake) for the whole turn; other frames, an
        // interrupt among them, are still delivered meanwhile.
        await this.startTurn({ kind: event.type === "input.text" ? "reply" : "speak", text: event.text, replyTo, viaSocket: true });
        return;
      }
      case "avatar.playback":
        this.runner.playbackReported(event.turn_id, event.played_ms, Date.now());
        return;
      case "avatar.interrupt":
        this.turns.interrupt();
        return;
      case "session.keep_alive":
        this.events.sendTo(ws, { type: "session.keep_alive.ack" }, replyTo);
        return;
      case "session.end":
        await this.end("client_ended", replyTo);
        return;
      case "input.audio.append":
        this.onAudio(ws, connection, decodeBase64(event.audio), replyTo);
        return;
      case "input.audio.commit":
        if (!this.voice.commit(connection)) {
          this.events.sendError(ws, new ApiError("parameter.invalid", "There is no speech to commit: send audio first."), replyTo);
        }
        return;
      case "input.audio.clear":
        this.voice.clear(connection);
        return;
      case "session.update":
        this.updateSession(ws, event, replyTo);
        return;
      case "tool.result":
        this.toolResult(ws, connection, event, replyTo);
        return;
    }
  }

  /** A frame of the user's voice: refused on an ended conversation and without the permission. */
  private onAudio(ws: WebSocket, connection: Connection, bytes: Uint8Array, replyTo: string | null): void {
    if (this.isEnding()) {
      this.events.sendError(ws, new ApiError("conversation.ended", ENDED_MESSAGE), replyTo);
      return;
    }
    if (!connection.permissions.includes("input.audio.append")) {
      this.events.sendError(ws, new ApiError("scope.denied", "This socket may not send audio."), replyTo);
      return;
    }
    this.voice.audio(ws, connection, bytes);
  }

  /** `session.update`: how the conversation listens, for every socket, stored and told to all. */
  private updateSession(ws: WebSocket, change: Extract<ClientEvent, { type: "session.update" }>, replyTo: string | null): void {
    const record = this.store.record();
    if (!record || this.isEnding()) {
      this.events.sendError(ws, new ApiError("conversation.ended", ENDED_MESSAGE), replyTo);
      return;
    }
    try {
      if (change.stt !== undefined) chooseStt(change.stt, this.config);
    } catch (err) {
      if (err instanceof ApiError) this.events.sendError(ws, err, replyTo);
      return;
    }
    const before = record.voiceInput;
    const voiceInput = changeVoiceInput(before, change);
    this.store.saveRecord({ ...record, voiceInput });
    this.index.voiceInputChanged();
    this.ctx.waitUntil(this.index.sync());
    this.voice.settingsChanged(before);
    this.events.emit({ type: "session.updated", voice_input: voiceInput }, replyTo);
  }

  /** A client's answer to a client tool's call: the first one wins; a late, unknown or forbidden one is refused to its sender. */
  private toolResult(ws: WebSocket, connection: Connection, result: Extract<ClientEvent, { type: "tool.result" }>, replyTo: string | null): void {
    if ((result.output === undefined) === (result.error === undefined)) {
      this.events.sendError(ws, new ApiError("parameter.invalid", "A tool.result carries exactly one of 'output' and 'error'.", { param: "output" }), replyTo);
      return;
    }
    // Parsed from the frame's JSON: a JSON value.
    const answer = result.error === undefined ? { output: result.output as JsonValue } : { error: result.error };
    const taken = this.toolCalls.answer(result.call_id, connection.credential, answer);
    if (taken === "unknown") {
      const message = `No tool call ${JSON.stringify(result.call_id)} is waiting for a result (it was answered, timed out or interrupted).`;
      this.events.sendError(ws, new ApiError("parameter.invalid", message, { param: "call_id" }), replyTo);
    } else if (taken === "denied") {
      this.events.sendError(
        ws,
        new ApiError("scope.denied", "This tool is not answered by a client secret's socket; define it with client: true, or answer it from your backend."),
        replyTo,
      );
    }
  }

  /** A speech-to-text session for the conversation's current `stt`. */
  private openStt(events: SttStreamEvents): SttStream | ApiError {
    const settings = this.store.record()?.voiceInput;
    if (!settings) return new ApiError("conversation.not_found", "No such conversation.");
    try {
      const { provider, model } = chooseStt(settings.stt, this.config);
      const sampleRate = settings.input_audio_format === "pcm_24000" ? 24_000 : 16_000;
      const options = { model, sampleRate, ...(settings.input_language ? { language: settings.input_language } : {}) };
      return provider.stream(options, events, { signal: this.voiceAbort.signal, config: this.config, log: this.log });
    } catch (err) {
      return err instanceof ApiError ? err : new ApiError("internal", "Speech-to-text could not start.");
    }
  }

  /** A user turn spoken on `ws`: admitted like a typed one, then run (interrupting, unless the conversation says not to). */
  private async voiceTurn(ws: WebSocket, connection: Connection, text: string, timing: VoiceTiming, interrupt: boolean): Promise<void> {
    if (this.isEnding()) return;
    const admission = await this.admit(connection);
    if (!admission.ok) {
      this.events.sendError(ws, admission.error);
      if (admission.revoked) closeSocket(ws, POLICY_VIOLATION, "API key revoked");
      return;
    }
    const request: TurnRequest = { kind: "reply", text, replyTo: null, viaSocket: true, voice: { socketId: connection.id, ...timing } };
    if (interrupt) this.turns.interrupt();
    await this.runQueued(request);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.voice.closed(connectionOf(ws));
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
      if (plan.reason === "idle_timeout" && this.turns.busy) {
        this.touch();
        return;
      }
      const leadS = plan.reason === "quota_exceeded" ? 30 : warningLeadMs(plan.reason === "max_duration" ? record.maxDurationS : record.idleTimeoutS) / 1000;
      const secondsLeft = Math.max(0, Math.min(leadS, Math.ceil((plan.endsAt - Date.now()) / 1000)));
      if (plan.reason === "max_duration") limits.warnedMax = true;
      else if (plan.reason === "idle_timeout") limits.warnedIdleFor = limits.lastActivityAt;
      else if (limits.secondsQuota) limits.secondsQuota = { ...limits.secondsQuota, warned: true };
      this.store.saveLimits(limits);
      this.events.emit({ type: "session.expiring", seconds_left: secondsLeft, reason: plan.reason });
    } else if (plan?.kind === "end" && record.status === "active") {
      // A reply in progress is activity: the idle clock starts again when it ends.
      if (plan.reason === "idle_timeout" && this.turns.busy) {
        this.touch();
        return;
      }
      await this.end(plan.reason);
      return;
    } else if (plan?.kind === "renew_quota" && record.status === "active" && limits.secondsQuota) {
      try {
        const renewed = await this.quota.renew(limits.secondsQuota);
        this.store.saveLimits({ ...(this.store.limits() ?? limits), secondsQuota: renewed });
      } catch (err) {
        // The ledger could not be reached: asked again shortly (the seconds held last until then).
        this.log.warn("quota seconds not renewed; retrying", { error: err });
        const retry = { kind: "renew_quota" as const, at: Date.now() + QUOTA_RETRY_MS };
        this.store.savePlan(retry);
        await this.ctx.storage.setAlarm(retry.at);
        return;
      }
    } else {
      this.store.pruneEvents(Date.now() - EVENT_RETENTION_MS);
      if (limits.indexBehind) await this.index.sync();
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
    if (record) this.index.started(record);
    this.ctx.waitUntil(this.index.sync());
    const greeting = this.store.setup()?.greeting;
    if (greeting) this.ctx.waitUntil(this.startTurn({ kind: "speak", text: greeting, replyTo: null, viaSocket: true }));
  }

  /** A turn a socket starts costs one unit of the org's rate limit (conversation/admission.ts). */
  private admit(connection: Connection): Promise<Admission> {
    const record = this.store.record();
    if (!record) return Promise.resolve({ ok: true as const });
    const overQuota = this.quota.blocked();
    if (overQuota) return Promise.resolve({ ok: false as const, revoked: false, error: overQuota });
    return admitTurn(this.env.RATE_LIMITER, record.orgId, connection, { enabled: this.config.rateLimiting, waitUntil: (work) => this.ctx.waitUntil(work) });
  }

  /** A new turn interrupts the one in progress and runs when it has closed. `listener` hears this turn's events. */
  private startTurn(request: TurnRequest, listener?: Listener): Promise<TurnResult> {
    this.turns.interrupt();
    return this.runQueued(request, listener);
  }

  /** Runs the turn when the one before it has closed; a turn whose model ended the conversation ends it (`agent_ended`). */
  private async runQueued(request: TurnRequest, listener?: Listener): Promise<TurnResult> {
    const result = await this.turns.enqueue((handle) => this.runner.run(request, handle, listener));
    // Not awaited: ending waits for the turn queue to settle, which includes the caller of this.
    if (result.endConversation) this.ctx.waitUntil(this.end("agent_ended"));
    return result;
  }

  private async finish(reason: EndReason, replyTo: string | null): Promise<void> {
    if (this.store.record()?.status !== "active") return;
    this.voice.closeAll();
    this.voiceAbort.abort();
    this.turns.interrupt();
    await this.turns.settled();
    const record = this.store.record();
    if (!record) return;
    const ended: ConversationRecord = { ...record, status: "ended", endedAt: Date.now(), endReason: reason };
    this.store.saveRecord(ended);
    this.index.ended(ended);
    this.events.emit({ type: "session.ended", reason }, replyTo);
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, 1000, ENDED_MESSAGE);
    const seconds = this.store.limits()?.secondsQuota;
    if (seconds) this.ctx.waitUntil(this.quota.refund(seconds, ended).catch((err: unknown) => this.log.warn("quota seconds not refunded", { error: err })));
    await this.index.sync();
    this.arm();
  }
}

/**
 * The conversation as a socket is shown it: a browser's client secret does not get `metadata`,
 * which is the backend's (user ids, CRM references) and not the browser's to read.
 */
function socketView(record: ConversationRecord, connection: Connection, now: number): ConversationJson | Omit<ConversationJson, "metadata"> {
  const json = conversationJson(record, now);
  if (connection.credential === "api_key") return json;
  const { metadata: _hidden, ...rest } = json;
  return rest;
}
