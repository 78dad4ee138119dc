import { header, jsonResponse } from "../../lib/openapi";
import { defineRoute, PROVIDER_ERRORS } from "../define-route";
import { MAX_STT_UPLOAD_BYTES, TranscribeForm, TranscriptionSchema } from "./stt.schemas";

export const transcribe = defineRoute("api_key", {
  method: "post",
  path: "/v1/stt",
  operationId: "createTranscription",
  tags: ["Speech to text"],
  summary: "Transcribe an audio file",
  description:
    "Multipart upload of up to 25 MiB (this route's limit; every other route takes 1 MiB): a 16-bit PCM WAV file, or raw PCM16 mono with `input_audio_format`. The whole file is transcribed by the model's provider; the seconds of audio are counted as `stt_seconds` usage (rounded up per request). A model this deployment has no key for is `503 provider.not_configured`; audio that is not 16-bit PCM is `422 format.unsupported`.",
  request: { body: { required: true, content: { "multipart/form-data": { schema: TranscribeForm } } } },
  responses: { 200: jsonResponse(TranscriptionSchema, "The transcript.", { "X-STT-Provider": header("The provider that transcribed.") }) },
  errors: ["model.unknown", "format.unsupported", ...PROVIDER_ERRORS],
  maxBodyBytes: MAX_STT_UPLOAD_BYTES,
});
