import type { Context } from "hono";
import { recordUsage } from "../../db/usage";
import { quotaHolderOf, reserveQuota } from "../../durable-objects/quota-client";
import { type AppEnv, meterOf } from "../../env";
import { sha256Hex } from "../../lib/crypto";
import { ApiError, quote } from "../../lib/errors";
import { quotaDeps } from "../../middleware/context";
import { publicCached } from "../../middleware/public-cache";
import { deepgramProxy } from "../../providers/tts/deepgram";
import { elevenlabsProxy } from "../../providers/tts/elevenlabs";
import { groqProxy } from "../../providers/tts/groq";
import type { UpstreamResponse } from "../../providers/upstream";
import { audioBody, type Spoken, speak } from "../../services/speech";
import { listVoices as allVoices, type ListedVoice, resolveVoice } from "../../services/voices";
import type { HandlerOf } from "../define-route";
import type * as routes from "./tts.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

const deps = (c: Context<AppEnv>) => ({ config: c.get("config"), log: c.get("log") });

/** The audio response, with the usage counted once the stream has ended (off the response path). */
function audio(
  c: Context<AppEnv>,
  spoken: Pick<Spoken, "body" | "contentType" | "characters" | "finished"> & { provider: { id: string } },
  extra: Record<string, string> = {},
): Response {
  const meter = meterOf(c.get("auth"));
  const db = c.get("db");
  c.executionCtx.waitUntil(
    spoken.finished
      .then(() => recordUsage(db, meter, "tts_characters", spoken.characters))
      .catch((err: unknown) => c.get("log").warn("usage not recorded", { error: err })),
  );
  return new Response(spoken.body, {
    headers: {
      "Content-Type": spoken.contentType,
      "X-TTS-Provider": spoken.provider.id,
      "X-TTS-Characters": String(spoken.characters),
      ...extra,
    },
  });
}

/**
 * Speech of `text` within the daily quota of characters: reserved before any upstream call (so an
 * org over its quota is refused with 402, not billed), given back if the synthesis fails before
 * its audio starts.
 */
async function withinQuota(c: Context<AppEnv>, text: string, work: () => Promise<Response>): Promise<Response> {
  const reservation = await reserveQuota(quotaDeps(c), quotaHolderOf(c.get("auth")), "tts_characters", [...text].length);
  try {
    return await work();
  } catch (err) {
    c.executionCtx.waitUntil(reservation.refund().catch((e: unknown) => c.get("log").warn("quota reservation not refunded", { error: e })));
    throw err;
  }
}

export const speakHandler: Handler<"speak"> = async (c) => {
  const body = c.req.valid("json");
  return withinQuota(c, body.text, async () => {
    const spoken = await speak(
      { text: body.text, voiceId: body.voice_id, format: body.format, speed: body.speed, timestamps: body.timestamps, visemes: body.visemes },
      deps(c),
    );
    return audio(c, spoken);
  });
};

/** What a voice says when asked for a sample and given no text. */
const SAMPLES: Record<string, string> = {
  en: "Hello! This is how I sound. I can read anything you give me, in real time.",
  es: "¡Hola! Así es como sueno. Puedo leer cualquier cosa que me des, en tiempo real.",
  ar: "مرحبا! هكذا يبدو صوتي. يمكنني قراءة أي نص تعطيني إياه.",
};

/**
 * Where a preview is cached (per location, a day). A voice's default sample is the same for every
 * org, so its entry is shared: a hit tells nobody anything they could not hear themselves. A
 * custom text is cached per org, so another org cannot confirm a guessed text by a hit. A custom
 * text equal to the voice's default sample is that sample, and served from the shared entry: the
 * sample is public, so a hit on it says nothing about any org. The two kinds live under different
 * paths and the hashed parts are JSON-encoded, so no custom key can equal a shared one or another
 * org's, whatever the text holds (newlines included).
 */
async function previewKey(voiceId: string, sample: string, custom: boolean, orgId: string): Promise<string> {
  const scope = custom ? `org/${await sha256Hex(JSON.stringify([orgId, voiceId, sample]))}` : `sample/${await sha256Hex(JSON.stringify([voiceId, sample]))}`;
  return `https://tts-preview.cache.internal/${scope}`;
}

export const previewHandler: Handler<"preview"> = async (c) => {
  const { voice_id, text } = c.req.valid("json");
  const voice = await resolveVoice(voice_id, deps(c), "voice_id");
  const defaultSample = SAMPLES[voice.language] ?? SAMPLES.en ?? "";
  const sample = text ?? defaultSample;
  const key = await previewKey(voice.id, sample, sample !== defaultSample, c.get("auth").org.id);
  const hit = await caches.default.match(key);
  if (hit) {
    return new Response(hit.body, {
      headers: {
        "Content-Type": hit.headers.get("Content-Type") ?? "audio/wav",
        "X-TTS-Provider": voice.provider,
        "X-TTS-Characters": "0",
        "X-TTS-Cache": "hit",
      },
    });
  }
  return withinQuota(c, sample, async () => {
    const spoken = await speak({ text: sample, voiceId: voice.id, format: "wav", timestamps: false }, deps(c));
    // One branch to the client, one into the cache (per location, a day): the same preview again
    // makes no upstream call.
    const [forClient, forCache] = spoken.body.tee();
    c.executionCtx.waitUntil(
      caches.default
        .put(key, new Response(forCache, { headers: { "Content-Type": spoken.contentType, "Cache-Control": "max-age=86400" } }))
        .catch((err: unknown) => c.get("log").warn("preview not cached", { error: err })),
    );
    return audio(c, { ...spoken, body: forClient }, { "X-TTS-Cache": "miss" });
  });
};

const toJson = (v: ListedVoice) => ({
  id: v.id,
  object: "voice" as const,
  provider: v.provider,
  name: v.name,
  language: v.language,
  description: v.description,
  preview_url: v.previewUrl ?? null,
  available: v.available,
});

/** Catalogue order, so a cursor is a position: items after the voice named by `starting_after`. */
export const listVoicesHandler: Handler<"listVoices"> = (c) => publicCached(c, () => voicePage(c));

async function voicePage(c: Parameters<Handler<"listVoices">>[0]) {
  const q = c.req.valid("query");
  const voices = (await allVoices(deps(c))).filter(
    (v) => (q.provider === undefined || v.provider === q.provider) && (q.language === undefined || v.language === q.language),
  );
  let start = 0;
  if (q.starting_after !== undefined) {
    const at = voices.findIndex((v) => v.id === q.starting_after);
    if (at === -1) throw new ApiError("parameter.invalid", `No voice with id ${quote(q.starting_after)} to start after.`, { param: "starting_after" });
    start = at + 1;
  }
  const page = voices.slice(start, start + q.limit);
  const hasMore = start + q.limit < voices.length;
  return c.json({ object: "list" as const, data: page.map(toJson), has_more: hasMore, next_cursor: hasMore ? (page.at(-1)?.id ?? null) : null }, 200);
}

/** A provider's own request, sent with our credentials, its audio streamed back under the same rules. */
async function proxied(
  c: Context<AppEnv>,
  provider: string,
  text: string,
  send: (ctx: { signal: AbortSignal; config: AppEnv["Variables"]["config"]; log: AppEnv["Variables"]["log"] }) => Promise<UpstreamResponse>,
) {
  return withinQuota(c, text, async () => {
    const abort = new AbortController();
    const upstream = await send({ signal: abort.signal, ...deps(c) });
    const { body, finished } = await audioBody(upstream.chunks(), (bytes) => bytes, abort, { log: c.get("log"), provider });
    return audio(c, {
      body,
      finished,
      provider: { id: provider },
      characters: [...text].length,
      contentType: upstream.headers.get("Content-Type") ?? "application/octet-stream",
    });
  });
}

const QUERY_FIELDS = ["output_format", "optimize_streaming_latency", "enable_logging"] as const;

export const elevenlabsNative: Handler<"elevenlabsNative"> = (c) => {
  const { voice_id, ...fields } = c.req.valid("json");
  const query: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if ((QUERY_FIELDS as readonly string[]).includes(key)) query[key] = String(value);
    else body[key] = value;
  }
  return proxied(c, "elevenlabs", fields.text, (ctx) => elevenlabsProxy({ voiceId: voice_id, query, body }, ctx));
};

export const deepgramNative: Handler<"deepgramNative"> = (c) => {
  const { text, ...options } = c.req.valid("json");
  const query = Object.fromEntries(Object.entries(options).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])));
  return proxied(c, "deepgram", text, (ctx) => deepgramProxy({ text, query }, ctx));
};

export const groqNative: Handler<"groqNative"> = (c) => {
  const body = c.req.valid("json");
  return proxied(c, "groq", body.input, (ctx) => groqProxy(body, ctx));
};
