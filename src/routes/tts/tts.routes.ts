import { z } from "@hono/zod-openapi";
import { header, jsonResponse } from "../../lib/openapi";
import { PUBLIC_CACHE_HEADERS } from "../../middleware/public-cache";
import { defineRoute, PROVIDER_ERRORS } from "../define-route";
import { DeepgramBody, ElevenLabsBody, GroqBody, ListVoicesQuery, PreviewBody, SpeakBody, VoiceListSchema } from "./tts.schemas";

const tags = ["Text to speech"];
const SPEECH_ERRORS = ["voice.unknown", "format.unsupported", "quota.tts_characters", ...PROVIDER_ERRORS] as const;

const audioResponses = (description: string, headers: Record<string, ReturnType<typeof header>> = {}) => ({
  200: {
    description,
    headers: {
      "X-TTS-Provider": header("The provider that spoke."),
      "X-TTS-Characters": header("Characters synthesized (Unicode code points).", { type: "integer" }),
      ...headers,
    },
    content: {
      "audio/mpeg": { schema: z.string().openapi({ format: "binary" }) },
      "audio/wav": { schema: z.string().openapi({ format: "binary" }) },
      "audio/pcm": { schema: z.string().openapi({ format: "binary", description: "Raw PCM16 little-endian mono; the rate is in the media type." }) },
      "application/x-ndjson": {
        schema: z.string().openapi({
          description:
            'With `timestamps` or `visemes`: one JSON object per line, `{"audio":"<base64>","alignment":{"chars":[...],"start_ms":[...],"duration_ms":[...]}|null}` (with `visemes`, also `"visemes":{"ids":[...],"start_ms":[...],"duration_ms":[...]}`), timings relative to that line\'s audio.',
        }),
      },
    },
  },
});

export const speak = defineRoute("api_key", {
  method: "post",
  path: "/v1/tts",
  operationId: "createSpeech",
  tags,
  summary: "Synthesize speech",
  description:
    "Streams the audio as the provider makes it (nothing is buffered whole). Nothing is sent before the first audio exists, so a provider that fails or stays silent (`TTS_FIRST_BYTE_TIMEOUT_MS`, 10 s) is a proper error; a failure later cuts the stream. A format the voice's provider cannot give is `422 format.unsupported`.",
  request: { body: { required: true, content: { "application/json": { schema: SpeakBody } } } },
  responses: audioResponses("The audio, or NDJSON with `timestamps`."),
  errors: SPEECH_ERRORS,
});

export const preview = defineRoute("api_key", {
  method: "post",
  path: "/v1/tts/preview",
  operationId: "previewVoice",
  tags,
  summary: "A short sample of one voice",
  description:
    "WAV. Cached for a day per location: the same voice and text again is answered without calling the provider (`X-TTS-Cache: hit`). A voice's default sample (no `text`) is cached once for every organisation; a custom `text` is cached per organisation, so no other organisation's request is ever a hit on it.",
  request: { body: { required: true, content: { "application/json": { schema: PreviewBody } } } },
  responses: audioResponses("The sample, as WAV.", {
    "X-TTS-Cache": header("`hit` when answered from this location's cache (no provider call, `X-TTS-Characters: 0`), else `miss`."),
  }),
  errors: SPEECH_ERRORS,
});

export const listVoices = defineRoute("public", {
  method: "get",
  path: "/v1/tts/voices",
  operationId: "listVoices",
  tags,
  summary: "Voices of every provider",
  description:
    "The built-in catalogue of every provider, and the voices of a configured ElevenLabs account (fetched at most once an hour). `available` says whether this deployment can speak with a voice now. In catalogue order (the mock voices first); cursor pages.",
  request: { query: ListVoicesQuery },
  responses: { 200: jsonResponse(VoiceListSchema, "A page of voices.", PUBLIC_CACHE_HEADERS) },
});

const native = <S extends z.ZodType>(provider: string, path: string, schema: S, reference: string) =>
  defineRoute("api_key", {
    method: "post",
    path,
    operationId: `create${provider}Speech`,
    tags,
    summary: `Synthesize with ${provider}'s own request`,
    description: `${reference} This deployment's credentials are added; the audio streams back with ${provider}'s content type, under the same streaming rules as POST /v1/tts.`,
    request: { body: { required: true, content: { "application/json": { schema } } } },
    responses: {
      200: {
        description: `${provider}'s audio.`,
        headers: { "X-TTS-Provider": header("The provider.") },
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      },
    },
    errors: ["quota.tts_characters", ...PROVIDER_ERRORS],
  });

export const elevenlabsNative = native(
  "ElevenLabs",
  "/v1/tts/elevenlabs",
  ElevenLabsBody,
  "The body of ElevenLabs' `POST /v1/text-to-speech/{voice_id}/stream`, with `voice_id` and its query parameters (`output_format`, `optimize_streaming_latency`, `enable_logging`) as fields.",
);
export const deepgramNative = native(
  "Deepgram",
  "/v1/tts/deepgram",
  DeepgramBody,
  "Deepgram's `POST /v1/speak`: `text`, and its query parameters (`model`, `encoding`, `container`, `sample_rate`, `bit_rate`, `speed`, `tag`, `mip_opt_out`) as fields. Asynchronous `callback` delivery is not offered.",
);
export const groqNative = native("Groq", "/v1/tts/groq", GroqBody, "Groq's OpenAI-style `POST /openai/v1/audio/speech` body.");
