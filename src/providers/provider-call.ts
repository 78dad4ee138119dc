import type { Config, UpstreamSettings } from "../config";
import { ApiError } from "../lib/errors";
import type { ProviderContext } from "./context";
import { callUpstream, type UpstreamResponse } from "./upstream";
import { openUpstreamSocket, type UpstreamSocket } from "./upstream-socket";

/**
 * One description per upstream provider, and the one way to call it. A provider file says who the
 * provider is (its settings, how its key travels, how its error bodies read) once; everything else
 * a call needs (the URL joined to the base, the key's check, the secrets to redact, the waits) is
 * derived here, so a provider file is left with its wire format.
 */

export interface Waits {
  /** No answer (status, or the socket's upgrade) within this: `503 provider.timeout`. */
  firstByteTimeoutMs: number;
  /** Nothing from the upstream for this long while it is being read: `503 provider.timeout`. */
  idleTimeoutMs: number;
}

export interface ProviderDescriptor {
  /** Short name, in client messages and logs: "openai", "deepgram". */
  readonly id: string;
  /** Human name: "OpenAI", "Deepgram". */
  readonly name: string;
  /** Its key and base URL on this deployment (the key undefined: not configured). */
  settings(config: Config): UpstreamSettings;
  /** The waits it gets: the LLM settings' or the speech settings'. */
  waits(config: Config): Waits;
  /** The headers that carry its key; each provider spells that its own way. */
  auth(apiKey: string): Record<string, string>;
  /** The explanation in its error body, for the log. */
  errorMessage?(body: unknown): string | undefined;
  /** The machine code in its error body, echoed when it is a plain token. */
  errorCode?(body: unknown): string | undefined;
  /** What a 404 says it does not know: "model", "voice". */
  readonly subject?: "model" | "voice";
  /** Said after "<name> is not configured on this deployment", e.g. which setting to set. */
  readonly setupHint?: string;
}

export interface ProviderRequest {
  /** After the base URL, with any query: `/chat/completions`, `/v1/speak?model=...`. */
  path: string;
  /** Sent as JSON with a POST; without it (and without `body`) the request is a GET. */
  json?: unknown;
  /**
   * Sent as it is with a POST, in place of `json`: an audio file under `contentType`, or a FormData,
   * which names its own multipart type and boundary (so it takes no `contentType`).
   */
  body?: { data: BodyInit; contentType?: string };
  /** Replaces the provider's own waits for this request (a whole file's transcript comes later than a stream's first byte). */
  waits?: Waits;
}

/** LLM providers wait as the `LLM_*` settings say. */
export const llmWaits = (config: Config): Waits => ({ firstByteTimeoutMs: config.llm.firstByteTimeoutMs, idleTimeoutMs: config.llm.streamIdleTimeoutMs });

/** Speech providers wait as the `TTS_*` settings say. */
export const ttsWaits = (config: Config): Waits => ({ firstByteTimeoutMs: config.tts.firstByteTimeoutMs, idleTimeoutMs: config.tts.idleTimeoutMs });

export const isConfigured = (provider: ProviderDescriptor, config: Config): boolean => Boolean(provider.settings(config).apiKey);

/** Its key, or `503 provider.not_configured`: nothing is sent without one. */
export function requireKey(provider: ProviderDescriptor, config: Config): string {
  const { apiKey } = provider.settings(config);
  if (!apiKey) {
    throw new ApiError(
      "provider.not_configured",
      `${provider.name} is not configured on this deployment${provider.setupHint ? `; ${provider.setupHint}` : ""}.`,
    );
  }
  return apiKey;
}

/** `{baseUrl}{path}`, whether or not the base URL ends with a slash (a gateway URL may have a path). */
export const endpoint = (baseUrl: string, path: string) => `${baseUrl.replace(/\/+$/, "")}${path}`;

/** Its key and its base URL's host: never echoed, and taken out of whatever it says that is logged. */
export function secretsOf(provider: ProviderDescriptor, config: Config): string[] {
  const { apiKey, baseUrl } = provider.settings(config);
  return [apiKey, new URL(baseUrl).host].filter((secret): secret is string => Boolean(secret));
}

/** The rules of upstream.ts as this provider's call needs them. */
function rulesOf(provider: ProviderDescriptor, apiKey: string, ctx: ProviderContext) {
  return {
    provider: provider.id,
    ...provider.waits(ctx.config),
    signal: ctx.signal,
    secrets: [apiKey],
    errorMessage: provider.errorMessage,
    errorCode: provider.errorCode,
    subject: provider.subject,
    log: ctx.log,
  };
}

/**
 * Calls the provider over HTTP under upstream.ts's rules: bounded waits, typed errors, the
 * caller's signal. Resolves once the upstream answered 2xx; its body is read from the result.
 */
export async function providerCall(provider: ProviderDescriptor, request: ProviderRequest, ctx: ProviderContext): Promise<UpstreamResponse> {
  const apiKey = requireKey(provider, ctx.config);
  return callUpstream({
    ...rulesOf(provider, apiKey, ctx),
    ...request.waits,
    url: endpoint(provider.settings(ctx.config).baseUrl, request.path),
    init: initOf(request, provider.auth(apiKey)),
  });
}

/** The method, headers and body of a request: a raw body, else JSON, else a GET. */
function initOf({ body, json }: ProviderRequest, auth: Record<string, string>): RequestInit {
  if (body) return { method: "POST", headers: body.contentType ? { ...auth, "Content-Type": body.contentType } : auth, body: body.data };
  if (json === undefined) return { method: "GET", headers: auth };
  return { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify(json) };
}

/**
 * Opens a WebSocket to the provider (`path` after its base URL, an http(s) one) under the same
 * rules; see upstream-socket.ts. `waits` replaces the provider's own (a listener that waits
 * through a user's silence needs a longer idle timeout than a stream of audio does).
 */
export async function providerSocket(provider: ProviderDescriptor, request: { path: string; waits?: Waits }, ctx: ProviderContext): Promise<UpstreamSocket> {
  const apiKey = requireKey(provider, ctx.config);
  const rules = { ...rulesOf(provider, apiKey, ctx), ...request.waits };
  return openUpstreamSocket({
    ...rules,
    url: endpoint(provider.settings(ctx.config).baseUrl, request.path),
    headers: provider.auth(apiKey),
    connectTimeoutMs: rules.firstByteTimeoutMs,
  });
}
