import type { Config, UpstreamSettings } from "../../config";
import { str } from "../json";
import { OPENAI_SHAPED } from "../openai-errors";
import { isConfigured, type ProviderDescriptor, providerCall, ttsWaits } from "../provider-call";
import { monoWav } from "../tts/wav";
import { unavailable } from "../upstream";
import { bufferedStream } from "./buffered";
import type { SttProvider, TranscriptionRequest } from "./types";
import { transcriptionWaits } from "./waits";

/**
 * OpenAI's transcriptions and Groq's copy of them (reference/voice.md §1.4): the whole audio as one
 * WAV file in a multipart form, its text back as JSON. Each uses the key and base URL of its chat.
 */

function transcriptionForm(request: TranscriptionRequest): FormData {
  const form = new FormData();
  // The endpoints tell formats apart by the file's name and type, so it gets both.
  form.append("file", new Blob([monoWav(request.audio.samples, request.audio.sampleRate)], { type: "audio/wav" }), "audio.wav");
  form.append("model", request.model);
  if (request.language) form.append("language", request.language);
  // `json` is the only format every model gives (the gpt-4o ones give nothing else).
  form.append("response_format", "json");
  return form;
}

function openAiShaped(id: "openai" | "groq", name: string, settings: (config: Config) => UpstreamSettings, models: readonly string[]): SttProvider {
  const upstream: ProviderDescriptor = {
    id,
    name,
    settings,
    waits: ttsWaits,
    ...OPENAI_SHAPED,
    subject: "model",
    setupHint: `the operator must set ${id.toUpperCase()}_API_KEY`,
  };
  const provider: SttProvider = {
    id,
    name,
    models,
    configured: (config) => isConfigured(upstream, config),
    // One request per utterance, when it is over: these endpoints have no streaming.
    stream: (options, events, ctx) => bufferedStream(provider.transcribe, options, events, ctx),
    async transcribe(request, ctx) {
      const answer = await providerCall(
        upstream,
        { path: "/audio/transcriptions", body: { data: transcriptionForm(request) }, waits: transcriptionWaits(ctx.config, request.audio) },
        ctx,
      );
      const text = str(await answer.json(), "text");
      if (text === undefined) throw unavailable(id, "answered a body that could not be read");
      // Whisper often starts its text with a space. The `json` answer names no language.
      return { text: text.trim(), language: null };
    },
  };
  return provider;
}

export const openai = openAiShaped("openai", "OpenAI", (config) => config.llm.openai, ["gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1"]);

export const groq = openAiShaped("groq", "Groq", (config) => config.llm.groq, ["whisper-large-v3-turbo", "whisper-large-v3"]);
