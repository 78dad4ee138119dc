import { z } from "@hono/zod-openapi";

/** Upload limit of `POST /v1/stt` (the global limit is 1 MiB): OpenAI's and Groq's own cap. */
export const MAX_STT_UPLOAD_BYTES = 25 * 1024 * 1024;

export const INPUT_AUDIO_FORMATS = ["pcm_16000", "pcm_24000"] as const;

const file = z
  .custom<File>((value) => value instanceof File, { message: "Expected a file" })
  .openapi({
    type: "string",
    format: "binary",
    description: "A 16-bit PCM WAV file (mono, or stereo mixed down), or raw PCM16 little-endian mono with `input_audio_format`.",
  });

export const TranscribeForm = z
  .strictObject({
    file,
    model: z.string().min(1).openapi({
      description:
        "`<provider>:<model>`: `mock:default` (offline; reads the mock voices back), `openai:gpt-4o-mini-transcribe`, `openai:gpt-4o-transcribe`, `openai:whisper-1`, `groq:whisper-large-v3-turbo`, `groq:whisper-large-v3`, `deepgram:nova-3`, `deepgram:nova-2`, `workers-ai:@cf/deepgram/nova-3` and `workers-ai:@cf/openai/whisper-large-v3-turbo` (with the AI binding; `workers-ai:@cf/deepgram/flux` is live only: `400 provider.rejected` here).",
      example: "mock:default",
    }),
    language: z
      .string()
      .regex(/^[a-z]{2}$/, "Expected an ISO 639-1 code such as 'en'")
      .optional()
      .openapi({ description: "ISO 639-1 code of the spoken language; detected when left out.", example: "en" }),
    input_audio_format: z
      .enum(INPUT_AUDIO_FORMATS)
      .optional()
      .openapi({ description: "For a raw PCM file: its rate. A WAV file says its own (and this must then be left out)." }),
  })
  .openapi("TranscriptionRequest");

export const TranscriptionSchema = z
  .object({
    object: z.literal("transcription"),
    text: z.string().openapi({ example: "Hello there, how are you?" }),
    model: z.string().openapi({ example: "mock:default" }),
    language: z.string().nullable().openapi({ description: "The language the provider says was spoken; null when it does not say." }),
    duration_s: z.number().openapi({ description: "The audio's length, in seconds.", example: 2.34 }),
  })
  .openapi("Transcription");
