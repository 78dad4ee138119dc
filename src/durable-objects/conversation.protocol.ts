import { z } from "@hono/zod-openapi";
import type { ConversationRecord } from "../db/conversations";
import {
  type ClientPermission,
  type EndReason,
  INPUT_AUDIO_FORMATS,
  type OutputAudioFormat,
  TURN_DETECTION_TYPES,
  type VoiceInputSettings,
} from "../db/schema";
import type { JsonObject, JsonValue } from "../db/tools";
import { toolJson } from "../db/tools";
import { type ConversationUsageJson, conversationUsageJson } from "../db/usage";
import { ApiError, type ErrorCode } from "../lib/errors";
import { textField } from "../lib/text";
import { isoSeconds } from "../lib/time";
import { validationError } from "../lib/validation";
import type { Alignment } from "../providers/tts/alignment";
import type { Visemes } from "../providers/visemes/track";

export type { EndReason, OutputAudioFormat } from "../db/schema";

/**
 * The conversation WebSocket protocol, shared by the Conversation object and the tests. Text
 * frames carry JSON; binary frames carry the user's voice (PCM16 little-endian mono in the
 * conversation's `input_audio_format`, the wire format of `@cloudflare/voice`). Client events are
 * validated here (a bad frame gets an `error` event and the socket stays open); server events are
 * typed here.
 */

/** The largest text frame a client may send (UTF-8 bytes). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Frames a client may send per second before its frames are refused. */
export const MAX_FRAMES_PER_SECOND = 20;
/** The exact frame the runtime answers itself (without waking the object), and its answer. */
export const KEEP_ALIVE_FRAME = '{"type":"session.keep_alive"}';
export const KEEP_ALIVE_ACK = '{"type":"session.keep_alive.ack"}';
/** The largest `played_ms` of an `avatar.playback` report: a day. */
export const MAX_PLAYED_MS = 86_400_000;
/** The longest `input.text` / `avatar.speak` text (and REST message content), in characters. */
export const MAX_TEXT_CHARS = 4000;
/** The largest binary audio frame, and the largest decoded `input.audio.append` (bytes). */
export const MAX_AUDIO_FRAME_BYTES = 64 * 1024;

/**
 * How a conversation listens, as `POST /v1/conversations` and `session.update` take it: every
 * field optional, what is left out keeps its value (the defaults on create, src/db/voice-input.ts).
 */
export const TurnDetectionInput = z.strictObject({
  type: z.enum(TURN_DETECTION_TYPES).optional(),
  threshold: z.number().min(0.001).max(1).optional(),
  silence_ms: z.number().int().min(200).max(5000).optional(),
  prefix_padding_ms: z.number().int().min(0).max(1000).optional(),
  min_interrupt_ms: z.number().int().min(100).max(5000).optional(),
});
export const InterruptionInput = z.strictObject({
  enabled: z.boolean().optional(),
  ignore_words: z
    .array(textField({ max: 40 }))
    .max(100)
    .optional(),
});
/** `provider:model`; checked against the providers where it is used. */
export const SttInput = z.string().min(3).max(100);
/** ISO 639-1, lower case. */
export const LanguageInput = z.string().regex(/^[a-z]{2}$/, { error: "must be an ISO 639-1 code such as 'en'" });

export const voiceInputFields = {
  input_audio_format: z.enum(INPUT_AUDIO_FORMATS).optional(),
  stt: SttInput.optional(),
  input_language: LanguageInput.nullable().optional(),
  turn_detection: TurnDetectionInput.optional(),
  interruption: InterruptionInput.optional(),
};

const eventId = z.string().min(1).max(64).optional();
/** Text a client asks the avatar to answer or to say: as long as a whole answer could be. */
const text = textField({ max: MAX_TEXT_CHARS, multiline: true });

export const ClientEvent = z.discriminatedUnion("type", [
  /** The user says something; the LLM answers and the avatar speaks the answer. */
  z.strictObject({ type: z.literal("input.text"), event_id: eventId, text }),
  /** The avatar says exactly this, without the LLM. */
  z.strictObject({ type: z.literal("avatar.speak"), event_id: eventId, text }),
  /** Stop the current turn now. */
  z.strictObject({ type: z.literal("avatar.interrupt"), event_id: eventId }),
  /**
   * How much of a turn's audio the client has played (ms from its first audio frame): sent just
   * before an interrupt, or from time to time on its own. An interrupted turn's stored text is cut
   * at the last character whose audio had started by then. A report for a turn that is not the
   * current one is ignored (it may simply be late).
   */
  z.strictObject({
    type: z.literal("avatar.playback"),
    event_id: eventId,
    turn_id: z.string().min(1).max(64),
    played_ms: z.number().int().min(0).max(MAX_PLAYED_MS),
  }),
  /** Connection liveness only; it does not count as activity for the idle timeout. */
  z.strictObject({ type: z.literal("session.keep_alive"), event_id: eventId }),
  /** End the conversation (`end_reason: client_ended`). */
  z.strictObject({ type: z.literal("session.end"), event_id: eventId }),
  /** The user's voice, for clients that cannot send binary frames: base64 PCM16 as a binary frame holds it. */
  z.strictObject({
    type: z.literal("input.audio.append"),
    event_id: eventId,
    audio: z
      .base64()
      .min(4)
      .max(Math.ceil((MAX_AUDIO_FRAME_BYTES * 4) / 3) + 4),
  }),
  /** The user's turn is over (push-to-talk; with server_vad it ends the turn at once). */
  z.strictObject({ type: z.literal("input.audio.commit"), event_id: eventId }),
  /** Forget the user's speech since the last turn ended (nothing of it is transcribed). */
  z.strictObject({ type: z.literal("input.audio.clear"), event_id: eventId }),
  /** Change how the conversation listens; fields left out keep their value. */
  z.strictObject({ type: z.literal("session.update"), event_id: eventId, ...voiceInputFields }),
  /**
   * The answer to a client tool's `tool.call`: `output` (any JSON) or `error` (a text the model is
   * told), exactly one. The first answer wins; a late one is refused.
   */
  z.strictObject({
    type: z.literal("tool.result"),
    event_id: eventId,
    call_id: z.string().min(1).max(64),
    output: z.unknown().optional(),
    error: textField({ max: 1000, multiline: true }).optional(),
  }),
]);
export type ClientEvent = z.infer<typeof ClientEvent>;
export type ClientEventType = ClientEvent["type"];

/** Every client frame type, from the union itself. */
export const CLIENT_TYPES: readonly ClientEventType[] = ClientEvent.options.map((o) => o.shape.type.value);

export type ParsedFrame = { ok: true; event: ClientEvent } | { ok: false; error: ApiError; replyTo?: string };

const byteLength = (text: string) => (text.length * 3 <= MAX_FRAME_BYTES ? text.length : new TextEncoder().encode(text).length);

/**
 * A client's text frame, checked as the REST API checks a body: the same error codes and `param`
 * paths, plus the `event_id` to answer with when the frame had a readable one.
 */
export function parseClientFrame(frame: string): ParsedFrame {
  if (byteLength(frame) > MAX_FRAME_BYTES) {
    return { ok: false, error: new ApiError("request.too_large", `Frames are limited to ${MAX_FRAME_BYTES / 1024} KiB.`) };
  }
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return { ok: false, error: new ApiError("request.invalid_json", "The frame is not valid JSON.") };
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { ok: false, error: new ApiError("parameter.invalid", "A frame must be a JSON object with a 'type'.") };
  }
  const fields = data as Record<string, unknown>;
  const replyTo = typeof fields.event_id === "string" && fields.event_id.length > 0 && fields.event_id.length <= 64 ? fields.event_id : undefined;
  const answer = (error: ApiError): ParsedFrame => (replyTo === undefined ? { ok: false, error } : { ok: false, error, replyTo });
  if (fields.type === undefined) return answer(new ApiError("parameter.missing", "Missing required parameter 'type'.", { param: "type" }));
  if (typeof fields.type !== "string" || !(CLIENT_TYPES as readonly string[]).includes(fields.type)) {
    return answer(new ApiError("parameter.invalid", `'type' must be one of ${CLIENT_TYPES.map((t) => `'${t}'`).join(", ")}.`, { param: "type" }));
  }
  const result = ClientEvent.safeParse(data);
  return result.success ? { ok: true, event: result.data } : answer(validationError(result.error.issues, data));
}

/** A call of a tool by the model: `arguments` is null when the model's were not a JSON object (the call was refused). */
export interface ToolCallJson {
  id: string;
  name: string;
  arguments: JsonObject | null;
}

/**
 * A stored message. Tool calls add two shapes: an assistant message carrying `tool_calls` (its
 * `content` is empty: what the avatar says in the turn is the turn's last assistant message), and
 * a `tool` message per call, whose `content` is the result as the model got it (JSON text).
 */
export interface MessageJson {
  id: string;
  object: "message";
  role: "user" | "assistant" | "tool";
  content: string;
  turn_id: string;
  interrupted: boolean;
  created_at: string;
  tool_calls?: ToolCallJson[];
  tool_call_id?: string;
  /** The tool's name (`tool` messages). */
  name?: string;
  /** The tool failed, timed out or was refused (`tool` messages): `content` is `{"error": "..."}`. */
  is_error?: boolean;
}

export interface ConversationJson {
  id: string;
  object: "conversation";
  status: "active" | "ended";
  avatar_id: string;
  persona_id: string | null;
  model: string;
  voice_id: string;
  output_audio_format: OutputAudioFormat;
  output_visemes: boolean;
  input_audio_format: VoiceInputSettings["input_audio_format"];
  stt: string;
  input_language: string | null;
  turn_detection: VoiceInputSettings["turn_detection"];
  interruption: VoiceInputSettings["interruption"];
  transport: { type: "websocket"; url: string };
  max_duration_s: number;
  idle_timeout_s: number;
  metadata: Record<string, string>;
  client_permissions: ClientPermission[];
  /** Server tools' header values redacted, their secrets left out. */
  tools: Record<string, unknown>[];
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  end_reason: EndReason | null;
  usage: ConversationUsageJson;
  messages?: MessageJson[];
}

/** On a resume (`?last_seq=N`): what follows `session.ready` before live events. */
export interface ReplayInfo {
  after_seq: number;
  /** Stored events after `after_seq`, sent next. */
  events: number;
  /** False when events after `after_seq` were already pruned (older than the retention). */
  complete: boolean;
}

/** A turn as `POST /v1/conversations/{id}/messages` answers it. */
export interface TurnJson {
  object: "turn";
  id: string;
  status: "completed" | "interrupted";
  input: MessageJson;
  /** The assistant's message; null when it was interrupted before saying anything. */
  output: MessageJson | null;
}

/**
 * What the avatar is doing: `idle` (nothing running), `listening` (the user is speaking and no turn
 * runs), `thinking` (a turn running, no audio yet), `speaking` (its audio is going out).
 */
export type TurnState = "idle" | "listening" | "thinking" | "speaking";

/** What every server event carries besides its own fields. */
export interface Envelope {
  type: string;
  /** `evt_<ULID>` */
  event_id: string;
  /**
   * The conversation's event sequence, 1, 2, 3... with no gaps, on the events written to its log
   * (what every socket receives and a resume replays); after a restart in the middle of a reply it
   * skips ahead (at most 256) past the seqs the reply may have sent, and never reuses one. Events
   * that are not logged have no `seq`: those for one socket (`session.ready`,
   * `session.keep_alive.ack`, an `error` answering its frame) and the ephemeral broadcasts
   * (`avatar.state`). So "keep the highest seq, skip an event whose seq you have" is a correct
   * de-duplication for every event.
   */
  seq?: number;
  /** ISO-8601 UTC with milliseconds. */
  ts: string;
  /** The `event_id` of the client event this answers, when it answers one. */
  reply_to?: string;
}

export type ServerEventBody =
  /** `conversation.metadata` is left out for a socket opened with a client secret (a browser). */
  | {
      type: "session.ready";
      conversation: ConversationJson | Omit<ConversationJson, "metadata">;
      /** This socket's id (`sock_…`). */
      socket_id: string;
      /** The seq of the newest logged event when this socket joined (0: none yet). */
      last_seq: number;
      /** What the avatar is doing when the socket joins. */
      state: TurnState;
      /** Audio is sent at most this far ahead of real time (ms). */
      audio_lead_ms: number;
      replay: ReplayInfo | null;
    }
  /** Ephemeral (not logged, no seq): what the avatar is doing, as it changes. */
  | { type: "avatar.state"; state: TurnState }
  | { type: "session.keep_alive.ack" }
  | { type: "message.created"; message: MessageJson }
  | { type: "agent.response.delta"; turn_id: string; delta: string }
  | { type: "agent.response.done"; turn_id: string; message: MessageJson }
  | { type: "avatar.speech.started"; turn_id: string }
  | { type: "avatar.audio.delta"; turn_id: string; audio: string; format: OutputAudioFormat; alignment: Alignment | null; visemes: Visemes | null }
  | { type: "avatar.speech.stopped"; turn_id: string }
  | { type: "avatar.interrupted"; turn_id: string; spoken_text: string }
  | {
      type: "metrics.turn";
      turn_id: string;
      llm_first_token_ms: number | null;
      tts_first_byte_ms: number | null;
      first_audio_ms: number | null;
      total_ms: number;
      /** Voice turns: from the end of the user's speech (its last voiced audio) to the final transcript. */
      stt_final_ms: number | null;
      /** Voice turns: from the end of the user's speech to the avatar's first audio. */
      voice_to_voice_ms: number | null;
      /** Turns that called tools: the time spent waiting for their results (parallel calls count once). */
      tool_ms: number | null;
    }
  /**
   * The model called a tool. `kind` says who answers: `client` (a socket, with `tool.result`; one
   * opened with the client secret only when `client` is true), `server` (we POST to the tool's URL),
   * `builtin`. Every socket sees it; `arguments` is null when the model's were not a JSON object
   * (the call is refused and `tool.result` says so).
   */
  | {
      type: "tool.call";
      turn_id: string;
      call_id: string;
      name: string;
      arguments: JsonObject | null;
      kind: "client" | "server" | "builtin" | "unknown";
      client: boolean;
      timeout_ms: number;
    }
  /** How a tool call ended: `output`, or `error` (what the model is told). */
  | { type: "tool.result"; turn_id: string; call_id: string; name: string; output?: JsonValue; error?: string; duration_ms: number }
  /** Ephemeral: voice began on `socket_id` (`audio_start_ms` in that socket's audio clock). */
  | { type: "user.speech.started"; socket_id: string; audio_start_ms: number }
  /** Ephemeral: the voice ended (after `silence_ms` of silence, or a commit). */
  | { type: "user.speech.stopped"; socket_id: string; audio_end_ms: number }
  /** Ephemeral: what has been heard of the speech so far, the whole of it (a later one may revise words). */
  | { type: "user.transcript.delta"; socket_id: string; text: string }
  /** Why the user's turn ended: `silence` (VAD), `provider` (the STT's endpointing), `commit`, `max_length` (30 s of speech). */
  | { type: "user.turn.ended"; socket_id: string; reason: UserTurnEndReason; silence_ms: number; speech_ms: number }
  /** The final transcript, stored as the user's message; the turn then runs as for `input.text`. */
  | { type: "user.transcript.final"; socket_id: string; message: MessageJson }
  /** The user's voice interrupted the avatar (then `avatar.interrupted`). */
  | { type: "user.barge_in"; socket_id: string; turn_id: string | null; speech_ms: number; transcript: string }
  /** Speech that did not become a turn, and why. */
  | { type: "user.speech.ignored"; socket_id: string; reason: SpeechIgnoredReason; transcript: string; speech_ms: number }
  /** `session.update` changed how the conversation listens: the settings now. */
  | { type: "session.updated"; voice_input: VoiceInputSettings }
  | { type: "session.expiring"; seconds_left: number; reason: "max_duration" | "idle_timeout" | "quota_exceeded" }
  | { type: "session.ended"; reason: EndReason }
  | { type: "error"; code: ErrorCode; message: string; reply_to?: string; param?: string };

export type UserTurnEndReason = "silence" | "provider" | "commit" | "max_length";
/**
 * `backchannel`: only words of `interruption.ignore_words`, said while the avatar spoke;
 * `too_short`: voice shorter than `min_interrupt_ms` while the avatar spoke (a cough, a click);
 * `no_words`: nothing was recognised in it.
 */
export type SpeechIgnoredReason = "backchannel" | "too_short" | "no_words";

export type ServerEvent = ServerEventBody & Envelope;
export type ServerEventType = ServerEventBody["type"];

/** The wire shape of a conversation, from the index row or the object's own copy of it. */
/** `now` fixes a live conversation's seconds so far: the start event and the first socket's `session.ready` show the same moment. */
export const conversationJson = (r: ConversationRecord, now = Date.now()): ConversationJson => ({
  id: r.id,
  object: "conversation",
  status: r.status,
  avatar_id: r.avatarId,
  persona_id: r.personaId,
  model: r.model,
  voice_id: r.voiceId,
  output_audio_format: r.outputAudioFormat,
  output_visemes: r.outputVisemes,
  ...r.voiceInput,
  transport: { type: "websocket", url: r.transportUrl },
  max_duration_s: r.maxDurationS,
  idle_timeout_s: r.idleTimeoutS,
  metadata: r.metadata,
  client_permissions: r.clientPermissions,
  tools: r.tools.map((t) => toolJson(t)),
  created_at: isoSeconds(r.createdAt),
  started_at: r.startedAt === null ? null : isoSeconds(r.startedAt),
  ended_at: r.endedAt === null ? null : isoSeconds(r.endedAt),
  end_reason: r.endReason,
  usage: conversationUsageJson(r, now),
});
