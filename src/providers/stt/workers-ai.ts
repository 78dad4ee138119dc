import type { AiBinding, Config } from "../../config";
import { encodeBase64 } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import type { ProviderContext } from "../context";
import { str } from "../json";
import { monoWav } from "../tts/wav";
import { CallerGone, unavailable } from "../upstream";
import { UpstreamSocket } from "../upstream-socket";
import { bufferedStream } from "./buffered";
import { transcriptOf } from "./deepgram";
import { DEEPGRAM_LIVE, ENDPOINTING_MS, UTTERANCE_END_MS } from "./deepgram-live";
import { type JsonMessage, KEEP_ALIVE_MS, type LiveMessage, type LiveProtocol, liveSession } from "./live-session";
import type { SttProvider, SttStreamOptions, TranscriptionRequest } from "./types";

/**
 * Workers AI's speech models through the `AI` binding (reference/voice.md §1.6), with no key of
 * ours: the deployment declares the binding (`[ai] binding = "AI"`) and pays Cloudflare.
 * - `@cf/deepgram/nova-3`: Deepgram's live protocol over the binding's WebSocket
 *   (`run(..., {websocket: true})`), one request for a whole file;
 * - `@cf/deepgram/flux`: turn detection inside the model: `StartOfTurn` and `EndOfTurn`; WebSocket
 *   only, so `POST /v1/stt` refuses it;
 * - `@cf/openai/whisper-large-v3-turbo`: one request per utterance (base64 WAV).
 * A binding cannot run offline; the tests use a fake one.
 */

const NAME = "Workers AI";
const ID = "workers-ai";
const NOVA = "@cf/deepgram/nova-3";
const FLUX = "@cf/deepgram/flux";
const WHISPER = "@cf/openai/whisper-large-v3-turbo";

/** Flux's `TurnInfo` messages: `Update` carries the turn's text so far; `EndOfTurn` its final text. */
export const FLUX_LIVE: LiveProtocol = {
  // Flux ends the turn itself; when our VAD ends it first, ForceEndTurn makes Flux say EndOfTurn now.
  finalize: JSON.stringify({ type: "ForceEndTurn" }),
  closeStream: JSON.stringify({ type: "CloseStream" }),
  read(message: JsonMessage): LiveMessage {
    const transcript = (str(message, "transcript") ?? "").trim();
    switch (message.event) {
      case "Update":
        return { kind: "segment", text: transcript, final: false, flushed: false, endOfTurn: false };
      case "StartOfTurn":
        return { kind: "speech_started" };
      case "EndOfTurn":
        return { kind: "end_of_turn", text: transcript };
      default:
        // EagerEndOfTurn and TurnResumed (speculative turns, not used), Connected, Warning.
        return { kind: "ignored" };
    }
  },
};

function binding(config: Config): AiBinding {
  if (!config.ai) {
    throw new ApiError("provider.not_configured", `${NAME} is not configured on this deployment (the operator must declare the AI binding).`);
  }
  return config.ai;
}

/** A call of the binding; its failures are the provider's typed errors (what it threw goes to the log only). */
async function run(ctx: ProviderContext, model: string, inputs: Record<string, unknown>, options?: { websocket: true }): Promise<unknown> {
  const ai = binding(ctx.config);
  if (ctx.signal.aborted) throw new CallerGone();
  try {
    return await ai.run(model, inputs, options);
  } catch (err) {
    ctx.log.warn("workers ai failed", { model, error: String(err) });
    throw unavailable(ID, "could not run the model");
  }
}

/** The live socket of a streaming model, under the same rules as a provider's own socket. */
async function openSocket(ctx: ProviderContext, model: string, inputs: Record<string, string>): Promise<UpstreamSocket> {
  const answer = await run(ctx, model, inputs, { websocket: true });
  const ws = answer instanceof Response ? answer.webSocket : null;
  if (!ws) {
    ctx.log.warn("workers ai answered without a socket", { model });
    throw unavailable(ID, "did not open a stream");
  }
  return new UpstreamSocket(ws, { provider: ID, idleTimeoutMs: Number.POSITIVE_INFINITY, signal: ctx.signal, secrets: [], log: ctx.log });
}

const liveOptions = (ctx: ProviderContext) => ({ provider: ID, finishTimeoutMs: ctx.config.tts.firstByteTimeoutMs, keepAliveMs: KEEP_ALIVE_MS });

/** Nova-3's live inputs: Deepgram's query parameters, as strings. */
export function novaInputs(options: SttStreamOptions): Record<string, string> {
  return {
    encoding: "linear16",
    sample_rate: String(options.sampleRate),
    interim_results: "true",
    vad_events: "true",
    endpointing: String(ENDPOINTING_MS),
    utterance_end_ms: String(UTTERANCE_END_MS),
    smart_format: "true",
    punctuate: "true",
    ...(options.language ? { language: options.language } : {}),
  };
}

async function transcribe(request: TranscriptionRequest, ctx: ProviderContext) {
  const wav = monoWav(request.audio.samples, request.audio.sampleRate);
  if (request.model === NOVA) {
    const answer = await run(ctx, NOVA, {
      audio: { body: wav, contentType: "audio/wav" },
      smart_format: true,
      ...(request.language ? { language: request.language } : {}),
    });
    const transcript = transcriptOf(answer);
    if (!transcript) throw unavailable(ID, "answered without a transcript");
    return transcript;
  }
  if (request.model === WHISPER) {
    const answer = await run(ctx, WHISPER, { audio: encodeBase64(wav), ...(request.language ? { language: request.language } : {}) });
    const text = str(answer, "text");
    if (text === undefined) throw unavailable(ID, "answered without a transcript");
    return { text: text.trim(), language: null };
  }
  throw new ApiError("provider.rejected", `${FLUX} transcribes a live stream only (voice input in a conversation); use ${NOVA} or ${WHISPER} for a file.`);
}

export const workersAi: SttProvider = {
  id: ID,
  name: NAME,
  models: [NOVA, FLUX, WHISPER],
  configured: (config) => config.ai !== undefined,
  transcribe,
  stream(options, events, ctx) {
    if (options.model === NOVA) return liveSession(() => openSocket(ctx, NOVA, novaInputs(options)), DEEPGRAM_LIVE, events, ctx, liveOptions(ctx));
    if (options.model === FLUX) {
      const inputs = { encoding: "linear16", sample_rate: String(options.sampleRate) };
      return liveSession(() => openSocket(ctx, FLUX, inputs), FLUX_LIVE, events, ctx, liveOptions(ctx));
    }
    return bufferedStream(transcribe, options, events, ctx);
  },
};
