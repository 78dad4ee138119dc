import type { Config } from "../config";
import { ApiError, quote } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { TtlCache } from "../lib/ttl-cache";
import { TTS_PROVIDERS } from "../providers/tts";
import { findVoice, VOICES, type VoiceInfo } from "../providers/tts/voices";

/**
 * Every voice this deployment knows: the built-in catalogue, plus the voices of the configured
 * providers' accounts (an ElevenLabs account's cloned and designed voices). Account voices are
 * fetched at most once an hour per location (Cache API) and once a few minutes per isolate.
 */

interface Deps {
  config: Config;
  log: Logger;
}

export interface ListedVoice extends VoiceInfo {
  /** Whether this deployment can speak with it now (its provider is configured). */
  available: boolean;
}

const ACCOUNT_VOICES_TTL_SECONDS = 3600;
const isolateCache = new TtlCache<string, VoiceInfo[]>(5 * 60_000, 16);

/** A cache key that changes with the account (a fingerprint of its key), never containing the key. */
async function cacheKey(provider: string, apiKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${provider}:${apiKey}`));
  const hex = Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  return `https://voices.cache.internal/${provider}/${hex}`;
}

async function accountVoices(deps: Deps): Promise<VoiceInfo[]> {
  const all: VoiceInfo[] = [];
  for (const provider of TTS_PROVIDERS) {
    if (!provider.accountVoices || !provider.configured(deps.config)) continue;
    const apiKey = provider.id === "elevenlabs" ? deps.config.tts.elevenlabs.apiKey : undefined;
    if (!apiKey) continue;
    const key = await cacheKey(provider.id, apiKey);
    let voices = isolateCache.get(key);
    if (!voices) {
      const cached = await caches.default.match(key);
      if (cached) {
        voices = (await cached.json()) as VoiceInfo[];
      } else {
        try {
          voices = await provider.accountVoices({ signal: new AbortController().signal, config: deps.config, log: deps.log });
          await caches.default.put(key, Response.json(voices, { headers: { "Cache-Control": `max-age=${ACCOUNT_VOICES_TTL_SECONDS}` } }));
        } catch (err) {
          // A provider's voice list being down must not take the catalogue down with it.
          deps.log.warn("account voices unavailable", { provider: provider.id, error: err instanceof ApiError ? err.code : String(err) });
          voices = [];
        }
      }
      isolateCache.set(key, voices);
    }
    all.push(...voices);
  }
  return all;
}

export async function listVoices(deps: Deps): Promise<ListedVoice[]> {
  const configured = new Map(TTS_PROVIDERS.map((p) => [p.id, p.configured(deps.config)]));
  return [...VOICES, ...(await accountVoices(deps))].map((v) => ({ ...v, available: configured.get(v.provider) ?? false }));
}

/** The voice of `id` (built in, or of a configured account), or `422 voice.unknown` naming `param`. */
export async function resolveVoice(id: string, deps: Deps, param = "voice_id"): Promise<VoiceInfo> {
  const found = findVoice(id) ?? (await accountVoices(deps)).find((v) => v.id === id);
  if (!found) throw new ApiError("voice.unknown", `No voice ${quote(id)}; GET /v1/tts/voices lists them.`, { param });
  return found;
}
