import { z } from "@hono/zod-openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";
import { AUDIO_FORMATS } from "../../providers/tts/types";

const format = z.enum(AUDIO_FORMATS).openapi({ description: "`mp3`, `wav` (PCM16 mono 24 kHz), or raw PCM16 mono at 16 or 24 kHz." });
const voiceId = z.string().min(1).openapi({ description: "`<provider>:<voice>` from GET /v1/tts/voices.", example: "mock:warm" });

export const SpeakBody = z
  .strictObject({
    text: textField({ max: 5000, multiline: true }).openapi({ description: "1 to 5,000 characters.", example: "Hello! How can I help you today?" }),
    voice_id: voiceId.optional().openapi({ description: "Default: the deployment's default voice (mock:warm unless configured)." }),
    format: format.default("wav"),
    speed: z.number().min(0.5).max(2).optional().openapi({ description: "0.5 to 2; providers without a speed setting ignore it." }),
    timestamps: z.boolean().default(false).openapi({
      description: "Answer NDJSON lines `{audio (base64), alignment}` with character timings (mock, ElevenLabs) instead of raw audio.",
    }),
    visemes: z.boolean().default(false).openapi({
      description:
        "Answer NDJSON lines `{audio, alignment, visemes}`: `visemes` is `{ids, start_ms, duration_ms}` (OVR viseme indexes 0 sil … 14 U, times relative to the line's audio) for every voice. Needs a PCM format (`wav`, `pcm_16000`, `pcm_24000`): `422 format.unsupported` otherwise.",
    }),
  })
  .openapi("SpeakRequest");

export const PreviewBody = z
  .strictObject({
    voice_id: voiceId,
    text: textField({ max: 200, multiline: true })
      .optional()
      .openapi({ description: "Up to 200 characters; a sample sentence in the voice's language by default." }),
  })
  .openapi("PreviewRequest");

export const VoiceSchema = z
  .object({
    id: z.string().openapi({ example: "deepgram:aura-2-thalia-en" }),
    object: z.literal("voice"),
    provider: z.enum(["mock", "elevenlabs", "deepgram", "groq"]),
    name: z.string(),
    language: z.string().openapi({ example: "en" }),
    description: z.string(),
    preview_url: z
      .string()
      .nullable()
      .openapi({ description: "A sample recording, when the provider publishes one; POST /v1/tts/preview makes one for any voice." }),
    available: z.boolean().openapi({ description: "Whether this deployment can speak with it now." }),
  })
  .openapi("Voice");

export const VoiceListSchema = listSchema(VoiceSchema, "VoiceList");

export const ListVoicesQuery = z.strictObject({
  ...paginationQuery,
  provider: z.enum(["mock", "elevenlabs", "deepgram", "groq"]).optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/, { error: "must be a language code such as 'en'" })
    .optional()
    .openapi({ description: "Primary language code, e.g. `en`." }),
});

// --- Provider-native requests, validated against each provider's own reference -------------------

const ELEVENLABS_MODELS = [
  "eleven_v3",
  "eleven_multilingual_v2",
  "eleven_flash_v2_5",
  "eleven_turbo_v2_5",
  "eleven_flash_v2",
  "eleven_turbo_v2",
  "eleven_multilingual_v1",
  "eleven_monolingual_v1",
] as const;
const ELEVENLABS_OUTPUT_FORMATS = [
  "mp3_22050_32",
  "mp3_24000_48",
  "mp3_44100_32",
  "mp3_44100_64",
  "mp3_44100_96",
  "mp3_44100_128",
  "mp3_44100_192",
  "pcm_8000",
  "pcm_16000",
  "pcm_22050",
  "pcm_24000",
  "pcm_32000",
  "pcm_44100",
  "pcm_48000",
  "ulaw_8000",
  "alaw_8000",
  "opus_48000_32",
  "opus_48000_64",
  "opus_48000_96",
  "opus_48000_128",
  "opus_48000_192",
] as const;
const unit = z.number().min(0).max(1).nullable().optional();

export const ElevenLabsBody = z
  .strictObject({
    voice_id: z
      .string()
      .regex(/^[A-Za-z0-9]{1,64}$/, { error: "must be an ElevenLabs voice id" })
      .openapi({ example: "21m00Tcm4TlvDq8ikWAM" }),
    text: z.string().min(1).max(40_000),
    model_id: z.enum(ELEVENLABS_MODELS).optional(),
    language_code: z
      .string()
      .regex(/^[a-z]{2}$/, { error: "must be an ISO 639-1 code" })
      .nullable()
      .optional(),
    voice_settings: z
      .strictObject({
        stability: unit,
        similarity_boost: unit,
        style: unit,
        use_speaker_boost: z.boolean().nullable().optional(),
        speed: z.number().min(0.7).max(1.2).nullable().optional(),
      })
      .nullable()
      .optional(),
    pronunciation_dictionary_locators: z
      .array(z.strictObject({ pronunciation_dictionary_id: z.string().min(1), version_id: z.string().nullable().optional() }))
      .max(3)
      .nullable()
      .optional(),
    seed: z.number().int().min(0).max(4_294_967_295).nullable().optional(),
    previous_text: z.string().nullable().optional(),
    next_text: z.string().nullable().optional(),
    previous_request_ids: z.array(z.string()).max(3).nullable().optional(),
    next_request_ids: z.array(z.string()).max(3).nullable().optional(),
    use_pvc_as_ivc: z.boolean().optional(),
    apply_text_normalization: z.enum(["auto", "on", "off"]).optional(),
    apply_language_text_normalization: z.boolean().optional(),
    output_format: z.enum(ELEVENLABS_OUTPUT_FORMATS).optional().openapi({ description: "Sent as ElevenLabs' query parameter; its default is mp3_44100_128." }),
    optimize_streaming_latency: z.number().int().min(0).max(4).optional().openapi({ description: "Deprecated by ElevenLabs; sent as a query parameter." }),
    enable_logging: z.boolean().optional().openapi({ description: "Sent as a query parameter; false is zero-retention mode (enterprise accounts only)." }),
  })
  .openapi("ElevenLabsSpeechRequest");

const DEEPGRAM_ENCODINGS = ["linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac"] as const;
/** Which containers Deepgram allows with which encodings (its media output settings). */
const CONTAINERS_FOR: Record<(typeof DEEPGRAM_ENCODINGS)[number], readonly string[]> = {
  linear16: ["none", "wav"],
  mulaw: ["none", "wav"],
  alaw: ["none", "wav"],
  opus: ["ogg", "none"],
  flac: ["none"],
  mp3: ["none"],
  aac: ["none"],
};

export const DeepgramBody = z
  .strictObject({
    text: z.string().min(1).max(2000),
    model: z
      .string()
      .regex(/^aura(-2)?-[a-z]+-[a-z]{2}$/, { error: "must be an Aura voice model such as 'aura-2-thalia-en'" })
      .default("aura-2-thalia-en"),
    encoding: z
      .enum(DEEPGRAM_ENCODINGS)
      .default("mp3")
      .openapi({ description: "Always sent (Deepgram's documented defaults contradict each other); mp3 unless given." }),
    container: z.enum(["none", "wav", "ogg"]).optional(),
    sample_rate: z.union([z.literal(8000), z.literal(16000), z.literal(22050), z.literal(24000), z.literal(32000), z.literal(48000)]).optional(),
    bit_rate: z.number().int().min(1).optional(),
    speed: z.number().min(0.5).max(2).optional(),
    tag: z.string().max(128).optional(),
    mip_opt_out: z.boolean().optional(),
  })
  .refine((b) => b.container === undefined || (CONTAINERS_FOR[b.encoding] ?? []).includes(b.container), {
    error: "is not allowed with that encoding (wav goes with linear16, mulaw or alaw; ogg with opus)",
    path: ["container"],
  })
  .openapi("DeepgramSpeechRequest");

const GROQ_VOICES = {
  "canopylabs/orpheus-v1-english": ["autumn", "diana", "hannah", "austin", "daniel", "troy"],
  "canopylabs/orpheus-arabic-saudi": ["abdullah", "fahad", "sultan", "lulwa", "noura", "aisha"],
} as const;

export const GroqBody = z
  .strictObject({
    model: z.enum(["canopylabs/orpheus-v1-english", "canopylabs/orpheus-arabic-saudi"]),
    input: z
      .string()
      .min(1)
      .max(10_000)
      .openapi({ description: "Orpheus itself refuses much more than about 200 characters (POST /v1/tts splits long text)." }),
    voice: z.string().min(1),
    response_format: z.literal("wav").default("wav").openapi({ description: "Orpheus answers WAV only." }),
    sample_rate: z.number().int().optional(),
    speed: z.number().min(0.5).max(2).optional(),
  })
  .refine((b) => (GROQ_VOICES[b.model] as readonly string[]).includes(b.voice), { error: "is not a voice of that model", path: ["voice"] })
  .openapi("GroqSpeechRequest");
