import type { VoiceInputSettings } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import type { SttStream, SttStreamEvents } from "../../providers/stt/types";
import { MAX_AUDIO_FRAME_BYTES, type ServerEventBody } from "../conversation.protocol";
import type { Connection } from "./connections";
import { VoiceInput, type VoiceSink, type VoiceTiming } from "./voice-input";

/**
 * The voice of every socket of the conversation: each socket that sends audio gets its own
 * VoiceInput (voice-input.ts), made on its first frame and kept in memory (a socket that streams
 * audio keeps the object awake; after hibernation a fresh one is right). This room checks every
 * frame (format, size, the socket's byte budget), counts the audio for usage, and turns what a
 * VoiceInput reports into events: logged ones for what the conversation's record needs (why a
 * turn ended, the final transcript, barge-ins, ignored speech), ephemeral ones for the live view
 * (speech started and stopped, interim text).
 */

/** Audio a socket may send per second, as a multiple of real time (a client catching up after a stall sends faster). */
const BUDGET_REALTIME_MULTIPLE = 1.5;
/**
 * The burst a socket may send at once, in seconds of audio. Generous on purpose: the budget is
 * measured when the object reads a frame, and an object busy for a moment (a reply's audio being
 * made) reads a backlog of frames that arrived in real time all at once.
 */
const BUDGET_BURST_S = 10;

export interface VoiceSocketsDeps {
  settings: () => VoiceInputSettings | undefined;
  openStt: (events: SttStreamEvents) => SttStream | ApiError;
  avatarBusy: () => boolean;
  /** `VOICE_STT_IDLE_MS`. */
  idleCloseMs: () => number;
  currentTurnId: () => string | null;
  /** A logged event, for every socket. */
  emit: (body: ServerEventBody) => void;
  /** An ephemeral event, for every socket. */
  broadcast: (body: ServerEventBody) => void;
  sendError: (ws: WebSocket, error: ApiError) => void;
  /** The user's voice interrupts the avatar. */
  interrupt: () => void;
  /** Whether the user is speaking on any socket (`avatar.state` says `listening`). */
  listening: (on: boolean) => void;
  /** A user turn spoken on `ws`. */
  startTurn: (ws: WebSocket, connection: Connection, text: string, timing: VoiceTiming, interrupt: boolean) => void;
  /** Whole seconds of audio received, for the org's usage. */
  usage: (seconds: number) => void;
}

interface Budget {
  tokens: number;
  at: number;
  warned: boolean;
}

export class VoiceSockets {
  private readonly inputs = new Map<string, VoiceInput>();
  private readonly budgets = new WeakMap<WebSocket, Budget>();
  private readonly speaking = new Set<string>();
  /** Audio received and not yet counted as usage (ms). */
  private pendingMs = 0;

  constructor(private readonly deps: VoiceSocketsDeps) {}

  /** A frame of audio from `ws` (binary, or decoded from `input.audio.append`). */
  audio(ws: WebSocket, connection: Connection, bytes: Uint8Array, now = Date.now()): void {
    const settings = this.deps.settings();
    if (!settings) return;
    if (bytes.byteLength > MAX_AUDIO_FRAME_BYTES) {
      this.deps.sendError(ws, new ApiError("request.too_large", `Audio frames are limited to ${MAX_AUDIO_FRAME_BYTES / 1024} KiB (about 100 ms is right).`));
      return;
    }
    if (bytes.byteLength === 0 || bytes.byteLength % 2 !== 0) {
      this.deps.sendError(
        ws,
        new ApiError(
          "format.unsupported",
          `Audio frames are 16-bit PCM, an even number of bytes, mono, in the conversation's input_audio_format (${settings.input_audio_format}).`,
        ),
      );
      return;
    }
    const rate = settings.input_audio_format === "pcm_24000" ? 24_000 : 16_000;
    const allowed = this.spend(ws, bytes.byteLength, rate * 2, now);
    if (allowed !== "allow") {
      if (allowed === "warn") {
        this.deps.sendError(
          ws,
          new ApiError("rate_limit.exceeded", `Audio is limited to ${BUDGET_REALTIME_MULTIPLE}× real time; frames are dropped until the rate comes down.`),
        );
      }
      return;
    }
    // A frame's bytes may start at any offset of a shared buffer: copied when not 2-aligned.
    const samples = bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Int16Array(bytes.slice().buffer);
    this.inputOf(ws, connection).audio(samples);
    this.count((samples.length * 1000) / rate);
  }

  /** `input.audio.commit`; false when the socket had no speech to commit. */
  commit(connection: Connection): boolean {
    return this.inputs.get(connection.id)?.commit() ?? false;
  }

  clear(connection: Connection): void {
    this.inputs.get(connection.id)?.clear();
  }

  /** `session.update` changed the settings (`before` are the old ones). */
  settingsChanged(before: VoiceInputSettings): void {
    for (const input of this.inputs.values()) input.settingsChanged(before);
  }

  /** The socket closed. */
  closed(connection: Connection): void {
    this.inputs.get(connection.id)?.close();
    this.inputs.delete(connection.id);
    this.setSpeaking(connection.id, false);
  }

  /** The conversation ended: no more voice anywhere. */
  closeAll(): void {
    // The last part of a second still counts, as a second (what POST /v1/stt does per request).
    if (this.pendingMs > 0) this.deps.usage(1);
    this.pendingMs = 0;
    for (const input of this.inputs.values()) input.close();
    this.inputs.clear();
    this.speaking.clear();
  }

  private inputOf(ws: WebSocket, connection: Connection): VoiceInput {
    let input = this.inputs.get(connection.id);
    if (!input) {
      const settings = this.deps.settings;
      input = new VoiceInput({
        settings: () => settings() as VoiceInputSettings,
        openStt: this.deps.openStt,
        avatarBusy: this.deps.avatarBusy,
        idleCloseMs: this.deps.idleCloseMs(),
        sink: this.sinkFor(ws, connection),
      });
      this.inputs.set(connection.id, input);
    }
    return input;
  }

  private sinkFor(ws: WebSocket, connection: Connection): VoiceSink {
    const socket_id = connection.id;
    const { emit, broadcast } = this.deps;
    return {
      speechStarted: (audioStartMs) => {
        this.setSpeaking(socket_id, true);
        broadcast({ type: "user.speech.started", socket_id, audio_start_ms: Math.round(audioStartMs) });
      },
      speechStopped: (audioEndMs) => {
        this.setSpeaking(socket_id, false);
        broadcast({ type: "user.speech.stopped", socket_id, audio_end_ms: Math.round(audioEndMs) });
      },
      interim: (text) => broadcast({ type: "user.transcript.delta", socket_id, text }),
      bargeIn: (speechMs, transcript) => {
        emit({ type: "user.barge_in", socket_id, turn_id: this.deps.currentTurnId(), speech_ms: speechMs, transcript });
        this.deps.interrupt();
      },
      turnEnded: (reason, silenceMs, speechMs) => {
        this.setSpeaking(socket_id, false);
        emit({ type: "user.turn.ended", socket_id, reason, silence_ms: silenceMs, speech_ms: speechMs });
      },
      transcript: (text, timing, interrupt) => this.deps.startTurn(ws, connection, text, timing, interrupt),
      ignored: (reason, transcript, speechMs) => emit({ type: "user.speech.ignored", socket_id, reason, transcript, speech_ms: Math.round(speechMs) }),
      error: (error) => this.deps.sendError(ws, error),
    };
  }

  private setSpeaking(socketId: string, on: boolean): void {
    const before = this.speaking.size > 0;
    if (on) this.speaking.add(socketId);
    else this.speaking.delete(socketId);
    const after = this.speaking.size > 0;
    if (before !== after) this.deps.listening(after);
  }

  /**
   * A token bucket of bytes per socket: `BUDGET_REALTIME_MULTIPLE`× real time, `BUDGET_BURST_S` of
   * burst. "warn" is the first refusal of a run of them (the client hears it once).
   */
  private spend(ws: WebSocket, bytes: number, bytesPerSecond: number, now: number): "allow" | "refuse" | "warn" {
    const capacity = bytesPerSecond * BUDGET_BURST_S;
    const budget = this.budgets.get(ws) ?? { tokens: capacity, at: now, warned: false };
    budget.tokens = Math.min(capacity, budget.tokens + ((now - budget.at) / 1000) * bytesPerSecond * BUDGET_REALTIME_MULTIPLE);
    budget.at = now;
    this.budgets.set(ws, budget);
    if (budget.tokens < bytes) {
      if (budget.warned) return "refuse";
      budget.warned = true;
      return "warn";
    }
    budget.tokens -= bytes;
    budget.warned = false;
    return "allow";
  }

  /** Audio seconds for usage, whole ones as they fill up. */
  private count(ms: number): void {
    this.pendingMs += ms;
    if (this.pendingMs < 1000) return;
    const seconds = Math.floor(this.pendingMs / 1000);
    this.pendingMs -= seconds * 1000;
    this.deps.usage(seconds);
  }
}
