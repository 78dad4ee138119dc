import type { VoiceInputSettings } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import type { SttStream, SttStreamEvents } from "../../providers/stt/types";
import type { SpeechIgnoredReason, UserTurnEndReason } from "../conversation.protocol";
import { isBackchannel, mayBeBackchannel, phrasesOf } from "./backchannel";
import { EnergyVad } from "./vad";

/**
 * One socket's voice: the audio it sends, turned into user turns. Per frame: the energy VAD
 * (vad.ts) finds where speech starts and ends; from its start (with `prefix_padding_ms` of the
 * audio before it) the speech goes to a streaming speech-to-text session; the user's turn ends on
 * `silence_ms` of silence, on the provider's own endpointing, on `input.audio.commit`, or after
 * 30 s of speech; then the final transcript becomes the next turn.
 *
 * Barge-in: speech that starts while the avatar is busy interrupts it once it has lasted
 * `min_interrupt_ms` (a cough or a click is shorter) and its interim transcript is more than
 * backchannels ("uh-huh", `interruption.ignore_words`). Until the transcript says so, the avatar
 * keeps talking; with no words at all after `NO_WORDS_GRACE_MS` more, the speech interrupts anyway
 * (it goes on too long to be a backchannel). Speech that overlapped the avatar without
 * interrupting it is not a turn: it is reported as ignored, with the reason.
 *
 * In `push_to_talk` the VAD only reports and barges in: every frame between two commits is the
 * utterance, and only `input.audio.commit` ends the turn.
 *
 * Everything the socket should see goes through `VoiceSink`; the object decides what is logged.
 * The STT session stays open between utterances (reconnecting costs a turn's latency) and is
 * closed after `idleCloseMs` without speech: an open outbound socket keeps the object awake.
 */

/** The longest utterance: then the turn ends (`max_length`), as @cloudflare/voice caps its buffer. */
export const MAX_UTTERANCE_MS = 30_000;
/** Voice without any recognised word interrupts this long after `min_interrupt_ms`. */
export const NO_WORDS_GRACE_MS = 400;

export interface VoiceTiming {
  /** When the frame holding the last voiced audio arrived (wall clock ms). */
  speechEndedAt: number;
  /** When the final transcript arrived. */
  finalAt: number;
}

/** What the voice input reports; the object turns it into events and turns. */
export interface VoiceSink {
  speechStarted(audioStartMs: number): void;
  speechStopped(audioEndMs: number): void;
  interim(text: string): void;
  /** The user's voice interrupts the avatar. */
  bargeIn(speechMs: number, transcript: string): void;
  turnEnded(reason: UserTurnEndReason, silenceMs: number, speechMs: number): void;
  /** A user turn: its final transcript. `interrupt`: whether it may cut off a reply still running. */
  transcript(text: string, timing: VoiceTiming, interrupt: boolean): void;
  ignored(reason: SpeechIgnoredReason, transcript: string, speechMs: number): void;
  error(error: ApiError): void;
}

export interface VoiceInputDeps {
  settings: () => VoiceInputSettings;
  /** A new STT session for the current settings, or why there cannot be one. */
  openStt: (events: SttStreamEvents) => SttStream | ApiError;
  /** A turn is running or waiting (the avatar thinks or speaks). */
  avatarBusy: () => boolean;
  sink: VoiceSink;
  /** No speech for this long closes the STT session (the next speech opens another): `VOICE_STT_IDLE_MS`. */
  idleCloseMs: number;
  now?: () => number;
}

interface Utterance {
  /** Audio clock (ms) of the first voiced window, and of the latest. */
  startMs: number;
  lastVoicedMs: number;
  lastVoicedAt: number;
  startedWhileBusy: boolean;
  bargedIn: boolean;
  interim: string;
  /** The VAD has said it started (not so in push-to-talk before any voice). */
  voiced: boolean;
}

const rateOf = (settings: VoiceInputSettings) => (settings.input_audio_format === "pcm_24000" ? 24_000 : 16_000);

export class VoiceInput {
  private vad: EnergyVad;
  private sampleRate: number;
  private stt: SttStream | undefined;
  private utterance: Utterance | undefined;
  /** Recent frames, kept for the prefix padding of the next utterance. */
  private recent: Int16Array[] = [];
  private recentSamples = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** The speech under way lost its session: dropped until it ends. */
  private droppingSpeech = false;
  private readonly now: () => number;

  constructor(private readonly deps: VoiceInputDeps) {
    const settings = deps.settings();
    this.sampleRate = rateOf(settings);
    this.vad = new EnergyVad(vadSettings(settings), this.sampleRate);
    this.now = deps.now ?? Date.now;
  }

  /** The settings changed (`session.update`): a new format or provider starts from a fresh state. */
  settingsChanged(before: VoiceInputSettings): void {
    const after = this.deps.settings();
    if (after.input_audio_format !== before.input_audio_format || after.stt !== before.stt || after.input_language !== before.input_language) {
      this.drop();
      this.closeStt();
      this.sampleRate = rateOf(after);
      this.vad = new EnergyVad(vadSettings(after), this.sampleRate);
    } else {
      this.vad.update(vadSettings(after));
    }
  }

  /** One frame of the user's voice. */
  audio(samples: Int16Array): void {
    if (this.closed) return;
    const settings = this.deps.settings();
    const pushToTalk = settings.turn_detection.type === "push_to_talk";
    const runBefore = this.vad.runMs;
    const events = this.vad.push(samples);
    const now = this.now();
    if (this.droppingSpeech) {
      // The rest of speech whose transcription failed: not a new utterance, and not heard.
      for (const event of events) if (event.type === "speech_stopped") this.deps.sink.speechStopped(event.lastVoicedMs);
      if (!this.vad.speaking) this.droppingSpeech = false;
      return;
    }
    for (const event of events) {
      if (event.type === "speech_started") {
        if (!this.utterance) this.begin(event.atMs, now);
        else if (!this.utterance.voiced) this.utterance.startMs = event.atMs;
        if (this.utterance) this.utterance.voiced = true;
        this.deps.sink.speechStarted(event.atMs);
      } else {
        this.deps.sink.speechStopped(event.lastVoicedMs);
        if (!pushToTalk && this.utterance) {
          // The speech may have begun and ended within this frame: its end is the VAD's.
          this.utterance.lastVoicedMs = Math.max(this.utterance.lastVoicedMs, event.lastVoicedMs);
          this.stt?.append(samples);
          this.end("silence", event.silenceMs);
          return;
        }
      }
    }
    if (pushToTalk && !this.utterance) this.begin(this.vad.nowMs, now, false);
    const utterance = this.utterance;
    if (!utterance) {
      this.remember(samples, settings.turn_detection.prefix_padding_ms);
      return;
    }
    this.stt?.append(samples);
    if (this.vad.speaking && this.vad.runMs !== runBefore) {
      // The VAD's own end of voice (to 10 ms), not the frame's end: frames may be long.
      utterance.lastVoicedMs = this.vad.lastVoicedMs;
      utterance.lastVoicedAt = now;
    }
    if (utterance.voiced && this.vad.nowMs - utterance.startMs >= MAX_UTTERANCE_MS) {
      this.end("max_length", 0);
      return;
    }
    this.considerBargeIn(utterance, settings);
  }

  /** `input.audio.commit`: the user's turn is over. False when there was nothing to commit. */
  commit(): boolean {
    if (!this.utterance) return false;
    this.end("commit", Math.max(0, this.vad.nowMs - this.utterance.lastVoicedMs));
    return true;
  }

  /** `input.audio.clear`: the speech so far is forgotten, untranscribed. */
  clear(): void {
    this.drop();
  }

  /** The socket closed or the conversation ended. */
  close(): void {
    this.closed = true;
    this.drop();
    this.closeStt();
  }

  // --- the utterance ------------------------------------------------------------------------

  private begin(startMs: number, now: number, voiced = true): void {
    this.clearIdle();
    if (!this.stt) {
      const opened = this.deps.openStt(this.sttEvents());
      if (opened instanceof ApiError) {
        this.deps.sink.error(opened);
      } else {
        this.stt = opened;
      }
    }
    this.utterance = { startMs, lastVoicedMs: startMs, lastVoicedAt: now, startedWhileBusy: this.deps.avatarBusy(), bargedIn: false, interim: "", voiced };
    // The audio just before the onset: its first syllable started below the threshold.
    for (const frame of this.recent) this.stt?.append(frame);
    this.recent = [];
    this.recentSamples = 0;
  }

  private end(reason: UserTurnEndReason, silenceMs: number): void {
    const utterance = this.utterance;
    const stt = this.stt;
    this.utterance = undefined;
    if (!utterance) return;
    if (this.vad.speaking) {
      this.vad.reset();
      this.deps.sink.speechStopped(utterance.lastVoicedMs);
    }
    const speechMs = utterance.voiced ? Math.max(0, utterance.lastVoicedMs - utterance.startMs) : 0;
    this.deps.sink.turnEnded(reason, Math.round(silenceMs), Math.round(speechMs));
    this.armIdle();
    if (!stt) return;
    const settings = this.deps.settings();
    stt.finish().then(
      (transcription) => this.decide(utterance, transcription.text.trim(), speechMs, settings),
      (err: unknown) => {
        // Closed meanwhile (the socket went, the conversation ended): nobody is waiting for it.
        if (this.closed) return;
        this.deps.sink.error(err instanceof ApiError ? err : new ApiError("provider.unavailable", "Speech-to-text failed."));
      },
    );
  }

  /** What the final transcript of an utterance becomes: a turn, or speech reported as ignored. */
  private decide(utterance: Utterance, text: string, speechMs: number, settings: VoiceInputSettings): void {
    const timing = { speechEndedAt: utterance.lastVoicedAt, finalAt: this.now() };
    const { interruption, turn_detection } = settings;
    if (text === "") {
      this.deps.sink.ignored("no_words", "", speechMs);
      return;
    }
    const overlapped = utterance.startedWhileBusy && !utterance.bargedIn && interruption.enabled;
    if (overlapped && isBackchannel(text, phrasesOf(interruption.ignore_words))) {
      this.deps.sink.ignored("backchannel", text, speechMs);
      return;
    }
    if (overlapped && utterance.voiced && speechMs < turn_detection.min_interrupt_ms && this.deps.avatarBusy()) {
      this.deps.sink.ignored("too_short", text, speechMs);
      return;
    }
    this.deps.sink.transcript(text, timing, interruption.enabled);
  }

  private considerBargeIn(utterance: Utterance, settings: VoiceInputSettings): void {
    const { interruption, turn_detection } = settings;
    if (utterance.bargedIn || !interruption.enabled || !this.deps.avatarBusy()) return;
    const runMs = this.vad.runMs;
    if (runMs < turn_detection.min_interrupt_ms) return;
    // A transcript with no words yet keeps the avatar talking a little longer; backchannels, for good.
    const phrases = phrasesOf(interruption.ignore_words);
    const noWords = utterance.interim.trim() === "";
    if (phrases.length > 0 && mayBeBackchannel(utterance.interim, phrases) && !(noWords && runMs >= turn_detection.min_interrupt_ms + NO_WORDS_GRACE_MS))
      return;
    utterance.bargedIn = true;
    this.deps.sink.bargeIn(Math.round(runMs), utterance.interim);
  }

  /** What the STT session reports, applied to the utterance it was hearing. */
  private sttEvents(): SttStreamEvents {
    return {
      interim: (text) => {
        if (!this.utterance) return;
        this.utterance.interim = text;
        this.deps.sink.interim(text);
        this.considerBargeIn(this.utterance, this.deps.settings());
      },
      speechStarted: () => {},
      endOfTurn: () => {
        const utterance = this.utterance;
        if (!utterance?.voiced || this.deps.settings().turn_detection.type === "push_to_talk") return;
        this.end("provider", Math.max(0, this.vad.nowMs - utterance.lastVoicedMs));
      },
      error: (error) => {
        this.stt = undefined;
        this.utterance = undefined;
        // The speech goes on (the VAD still hears it) but its start went with the failed session.
        this.droppingSpeech = this.vad.speaking;
        this.deps.sink.error(error);
      },
    };
  }

  // --- housekeeping ---------------------------------------------------------------------------

  /** Keeps the last `paddingMs` of audio (whole frames) for the next utterance's start. */
  private remember(samples: Int16Array, paddingMs: number): void {
    const keep = (paddingMs * this.sampleRate) / 1000;
    if (keep <= 0) return;
    // A copy: the frame may be a view of a buffer its sender reuses.
    this.recent.push(samples.slice());
    this.recentSamples += samples.length;
    while (this.recent.length > 1 && this.recentSamples - (this.recent[0]?.length ?? 0) >= keep) {
      this.recentSamples -= this.recent.shift()?.length ?? 0;
    }
  }

  private drop(): void {
    if (this.utterance) this.stt?.clear();
    this.utterance = undefined;
    this.droppingSpeech = false;
    this.recent = [];
    this.recentSamples = 0;
    this.vad.reset();
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => this.closeStt(), this.deps.idleCloseMs);
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private closeStt(): void {
    this.clearIdle();
    this.stt?.close();
    this.stt = undefined;
  }
}

const vadSettings = (settings: VoiceInputSettings) => ({ threshold: settings.turn_detection.threshold, silenceMs: settings.turn_detection.silence_ms });
