import type { Config } from "../../config";
import { encodeBase64 } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { Logger } from "../../lib/logger";
import { nextTask } from "../../lib/time";
import { llmProvider } from "../../providers/llm";
import { ttsProvider } from "../../providers/tts";
import type { SpeechChunk } from "../../providers/tts/types";
import { englishG2p } from "../../providers/visemes/english";
import type { MessageJson, ServerEventBody } from "../conversation.protocol";
import type { EventStream, Listener } from "./events";
import { chatHistory } from "./history";
import { EVENT_RETENTION_MS } from "./limits";
import { runTurn, type TurnMetrics, type TurnOutcome, type TurnUsage } from "./pipeline";
import { Playback } from "./playback";
import type { ConversationStore, TurnInFlight } from "./store";
import type { PendingToolCalls } from "./tool-calls";
import { turnTools } from "./turn-tools";
import type { TurnHandle } from "./turns";
import type { VoiceTiming } from "./voice-input";

/**
 * One turn of the conversation, as its clients see it: the user's message stored and announced,
 * the reply run (pipeline.ts) with its text and audio sent as events, and the turn closed in every
 * case with the assistant's message (all of it, or what was heard of it) and `metrics.turn`. The
 * turn in flight is kept in storage as it goes, so one cut off by a restart is still closed
 * (`closeLost`).
 */

export interface TurnRequest {
  /** `reply`: the model answers `text`; `speak`: the avatar says `text` as it is. */
  kind: "reply" | "speak";
  text: string;
  /** The client frame's `event_id`, carried by every event of the turn. */
  replyTo: string | null;
  /** Asked over a socket (typed or spoken), not by the REST API: a client tool can be answered. */
  viaSocket: boolean;
  /** A turn the user spoke: its text is the final transcript of the speech on `socketId`. */
  voice?: { socketId: string } & VoiceTiming;
}

export interface TurnResult {
  id: string;
  status: "completed" | "interrupted" | "failed";
  input: MessageJson | null;
  output: MessageJson | null;
  error?: ApiError;
  /** The model called `end_conversation`: the conversation is to end (`agent_ended`). */
  endConversation: boolean;
}

export interface TurnRunnerDeps {
  store: ConversationStore;
  events: EventStream;
  config: () => Config;
  log: () => Logger;
  /** Activity: the idle clock restarts. */
  touch: () => void;
  /** The conversation is ending: a turn that has not started yet does not start. */
  ending: () => boolean;
  /** What the turn consumed, for the org's usage. */
  usage: (usage: TurnUsage) => void;
  /** The deployment's lead when the conversation has none of its own. */
  defaultLeadMs: () => number;
  /** Client tool calls waiting for a socket's answer. */
  pendingToolCalls: PendingToolCalls;
  /** Whether a socket that may answer a client tool is open (`client: true` admits client-secret sockets). */
  canAnswerTool: (clientSecretMayAnswer: boolean) => boolean;
}

/** How long the user's message waits to be written after the model is asked (see `run`). */
const MODEL_HEAD_START_MS = 1;

const NO_METRICS: TurnMetrics = { llm_first_token_ms: null, tts_first_byte_ms: null, first_audio_ms: null, total_ms: 0, tool_ms: null };
const NO_VOICE = { stt_final_ms: null, voice_to_voice_ms: null };

/** A voice turn's own metrics: from the end of the user's speech to the transcript, and to the first audio. */
function voiceMetrics(request: TurnRequest, startedAt: number, metrics: TurnMetrics): { stt_final_ms: number | null; voice_to_voice_ms: number | null } {
  const voice = request.voice;
  if (!voice) return NO_VOICE;
  return {
    stt_final_ms: Math.max(0, voice.finalAt - voice.speechEndedAt),
    voice_to_voice_ms: metrics.first_audio_ms === null ? null : Math.max(0, startedAt + metrics.first_audio_ms - voice.speechEndedAt),
  };
}

export class TurnRunner {
  /** The turn whose audio is going out, to which a client's playback report applies. */
  private current: { id: string; playback: Playback } | undefined;

  constructor(private readonly deps: TurnRunnerDeps) {}

  /** The turn whose audio is going out, if any. */
  get currentTurnId(): string | null {
    return this.current?.id ?? null;
  }

  /** A client's `avatar.playback`: applies to the current turn only (a late one is ignored). */
  playbackReported(turnId: string, playedMs: number, now: number): void {
    if (this.current?.id === turnId) this.current.playback.reported(playedMs, now);
  }

  async run(request: TurnRequest, handle: TurnHandle, listener?: Listener): Promise<TurnResult> {
    const { store, events } = this.deps;
    const record = store.record();
    const setup = store.setup();
    if (!record || !setup) throw new Error("conversation not initialised");
    const turnId = newId("turn");
    const emit = (body: ServerEventBody) => events.emit(body, request.replyTo, listener);
    // The reply's own words and audio leave at once, written later (events.ts, store.ts `behind`).
    const stream = (body: ServerEventBody) => events.stream(body, request.replyTo, listener);
    const now = () => Date.now();
    const log = this.deps.log().with({ turn_id: turnId });
    const config = this.deps.config();
    const cancelled = handle.signal.aborted || this.deps.ending();
    const llm = request.kind === "reply" ? llmProvider(setup.llm.provider) : undefined;
    const noModel =
      request.kind === "reply" && !llm?.configured(config)
        ? new ApiError(
            "provider.not_configured",
            `The model ${setup.llm.provider} is not configured on this deployment any more; create a conversation with another.`,
          )
        : undefined;

    const inFlight: TurnInFlight = { id: turnId, replyTo: request.replyTo, speechStarted: false, spoken: "", startedAt: now() };
    const playback = new Playback();
    const format = record.outputAudioFormat;
    const sink = {
      delta: (delta: string) => stream({ type: "agent.response.delta", turn_id: turnId, delta }),
      speechStarted: () => {
        inFlight.speechStarted = true;
        store.saveTurnSoon(inFlight);
        handle.setState("speaking");
        stream({ type: "avatar.speech.started", turn_id: turnId });
      },
      audio: (chunk: SpeechChunk, spokenSoFar: string) => {
        inFlight.spoken = spokenSoFar;
        store.saveTurnSoon(inFlight);
        stream({
          type: "avatar.audio.delta",
          turn_id: turnId,
          audio: encodeBase64(chunk.audio),
          format,
          alignment: chunk.alignment,
          visemes: chunk.visemes ?? null,
        });
        // The first audio is out: the client has something to play, and what follows is written in batches.
        store.batchWritesBehind(true);
      },
    };
    const speech = {
      provider: ttsProvider(setup.tts.provider),
      voice: setup.tts.voice,
      format,
      leadMs: setup.audioLeadMs ?? this.deps.defaultLeadMs(),
      ...(record.outputVisemes ? { visemes: englishG2p() } : {}),
    };
    const context = { signal: handle.signal, config, log, now, playback };

    // The model is asked before anything is written, and the writes wait a moment: a Durable
    // Object holds back an outgoing request until the writes made before it left are durable.
    // fetch() only starts the request; it leaves a few event-loop turns later, so a write in the
    // very next task still holds it (+0.3 ms to the model's request against no write at all, a
    // bare object here), and one a millisecond later no longer does (MODEL_HEAD_START_MS). The
    // model's first token matters more than the user's message being stored a moment earlier, and
    // `announced` keeps the message.created below ahead of the reply.
    let announce = () => {};
    const announced = new Promise<void>((resolve) => (announce = resolve));
    let outcome: Promise<TurnOutcome> | undefined;
    if (!cancelled && llm && !noModel) {
      const transcript = [...store.messages(), { role: "user" as const, content: request.text }];
      const history = chatHistory(setup.systemPrompt, transcript, setup.llm.contextWindow);
      const canCall = llm.models.find((m) => m.name === setup.llm.model)?.capabilities.tools ?? false;
      const tools = canCall
        ? turnTools({
            conversationId: record.id,
            turnId,
            tools: record.tools,
            viaSocket: request.viaSocket,
            canAnswer: this.deps.canAnswerTool,
            pending: this.deps.pendingToolCalls,
            emit,
            addMessage: (message) => store.addMessage(message, now()),
            language: record.voiceInput.input_language,
            allowInsecureUrls: config.webhooks.allowInsecureUrls,
            log,
            now,
          })
        : undefined;
      const chat = { model: setup.llm.model, messages: history };
      outcome = runTurn({ kind: "reply", llm, request: chat, ...(tools ? { tools } : {}) }, speech, sink, { ...context, announced });
      await nextTask(MODEL_HEAD_START_MS);
    }

    let input: MessageJson | null = null;
    try {
      if (request.kind === "reply") {
        input = store.addMessage({ role: "user", content: request.text, turnId, interrupted: false }, now());
        if (request.voice) emit({ type: "user.transcript.final", socket_id: request.voice.socketId, message: input });
        emit({ type: "message.created", message: input });
      }
      // In this task, which writes the user's message anyway: the reply's first delta need not wait.
      if (!cancelled && !noModel) events.reserve();
    } finally {
      announce();
    }
    if (cancelled) {
      emit({ type: "avatar.interrupted", turn_id: turnId, spoken_text: "" });
      emit({ type: "metrics.turn", turn_id: turnId, ...NO_METRICS, ...voiceMetrics(request, inFlight.startedAt ?? now(), NO_METRICS) });
      return { id: turnId, status: "interrupted", input, output: null, endConversation: false };
    }
    if (noModel) {
      emit({ type: "error", code: noModel.code, message: noModel.message });
      emit({ type: "metrics.turn", turn_id: turnId, ...NO_METRICS, ...voiceMetrics(request, inFlight.startedAt ?? now(), NO_METRICS) });
      return { id: turnId, status: "failed", input, output: null, error: noModel, endConversation: false };
    }
    // No `touch()` here, only at the end: the alarm treats a turn in progress as activity anyway,
    // and moving the alarm now cost the runtime ~1 ms before the model's request and this
    // turn's first events could leave (a CPU profile of a turn, bench stage "frame to message.created").
    store.saveTurn(inFlight);
    this.current = { id: turnId, playback };
    let result: TurnOutcome;
    try {
      result = await (outcome ?? runTurn({ kind: "speak", text: request.text }, speech, sink, context));
    } finally {
      this.current = undefined;
      store.batchWritesBehind(false);
    }

    let output: MessageJson | null = null;
    let error: ApiError | undefined;
    if (result.status === "completed") {
      if (result.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: turnId });
      output = store.addMessage({ role: "assistant", content: result.text.trim(), turnId, interrupted: false }, now());
      emit({ type: "agent.response.done", turn_id: turnId, message: output });
    } else {
      const spoken = result.spoken.trim();
      if (result.status === "interrupted") {
        emit({ type: "avatar.interrupted", turn_id: turnId, spoken_text: spoken });
      } else {
        error = asApiError(result.error, log);
        emit({ type: "error", code: error.code, message: error.message, ...(error.param === undefined ? {} : { param: error.param }) });
      }
      if (result.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: turnId });
      if (spoken !== "") {
        output = store.addMessage({ role: "assistant", content: spoken, turnId, interrupted: true }, now());
        emit({ type: "message.created", message: output });
      }
    }
    emit({ type: "metrics.turn", turn_id: turnId, ...result.metrics, ...voiceMetrics(request, inFlight.startedAt ?? now(), result.metrics) });
    this.deps.usage(result.usage);
    store.saveTurn(undefined);
    store.pruneEvents(now() - EVENT_RETENTION_MS);
    if (!this.deps.ending()) this.deps.touch();
    return { id: turnId, status: result.status, input, output, ...(error ? { error } : {}), endConversation: result.endConversation };
  }

  /**
   * A turn the object was running when it stopped (a deploy, a crash) can never finish: it is
   * closed as interrupted with what had been sent as audio (nothing more can have been heard), so
   * no client waits for it forever, and ends with its `metrics.turn` like every turn.
   */
  closeLost(): void {
    const { store, events } = this.deps;
    const lost = store.turn();
    if (!lost) return;
    const emit = (body: ServerEventBody) => events.emit(body, lost.replyTo);
    const spoken = lost.spoken.trim();
    emit({ type: "avatar.interrupted", turn_id: lost.id, spoken_text: spoken });
    if (lost.speechStarted) emit({ type: "avatar.speech.stopped", turn_id: lost.id });
    if (spoken !== "") {
      const message = store.addMessage({ role: "assistant", content: spoken, turnId: lost.id, interrupted: true }, Date.now());
      emit({ type: "message.created", message });
    }
    emit({ type: "metrics.turn", turn_id: lost.id, ...NO_METRICS, ...NO_VOICE, total_ms: lost.startedAt === undefined ? 0 : Date.now() - lost.startedAt });
    store.saveTurn(undefined);
  }
}

function asApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  log.error("turn failed", { error: err });
  return new ApiError("internal", "The reply failed; the conversation can continue.");
}
