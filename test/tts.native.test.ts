import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { freshOrg } from "./helpers/auth";
import { api, BASE, expectError, KEYS } from "./helpers/http";
import { fakeUpstream, type Sent, trickle, watchLogs } from "./helpers/upstream-harness";

/** POST /v1/tts/{elevenlabs,deepgram,groq}: each provider's own request, our credentials, its audio. */

afterEach(() => vi.restoreAllMocks());

const SECRETS = {
  ELEVENLABS_API_KEY: "xi-native-secret-0001",
  ELEVENLABS_BASE_URL: "https://fake-elevenlabs.test",
  DEEPGRAM_API_KEY: "dg-native-secret-0002",
  DEEPGRAM_BASE_URL: "https://fake-deepgram.test",
  GROQ_API_KEY: "gsk_native_secret_0003",
  GROQ_BASE_URL: "https://fake-groq.test/openai/v1",
};
const configured = { ...env, ...SECRETS };
const app = createApp();
// Upstream failures are logged; our keys must not be, whatever happened.
watchLogs([SECRETS.ELEVENLABS_API_KEY, SECRETS.DEEPGRAM_API_KEY, SECRETS.GROQ_API_KEY]);

/** The address the upstream was called at. */
const urlOf = (sent: Sent | undefined) => new URL(sent?.url ?? "about:blank");

async function call(path: string, body: unknown, key: string = KEYS.demo) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    configured,
    ctx,
  );
  return { res, done: () => waitOnExecutionContext(ctx) };
}

const audioBytes = new Uint8Array(9000).map((_, i) => i % 251);
const audio = (type: string) => () => new Response(trickle([audioBytes.slice(0, 4000), audioBytes.slice(4000)]).body, { headers: { "Content-Type": type } });

describe("POST /v1/tts/elevenlabs", () => {
  it("sends ElevenLabs' own request (query fields as query) with our key, and streams its audio back", async () => {
    const sent = fakeUpstream(audio("audio/mpeg"));
    const org = await freshOrg("pro");
    const { res, done } = await call(
      "/v1/tts/elevenlabs",
      {
        voice_id: "21m00Tcm4TlvDq8ikWAM",
        text: "Hello from the native route.",
        model_id: "eleven_multilingual_v2",
        voice_settings: { stability: 0.4, similarity_boost: 0.8, speed: 1.1 },
        seed: 42,
        output_format: "mp3_44100_64",
        enable_logging: false,
      },
      org.key,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/mpeg");
    expect(res.headers.get("X-TTS-Provider")).toBe("elevenlabs");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(audioBytes);
    await done();
    const request = sent[0];
    expect(urlOf(request).pathname).toBe("/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream");
    expect(Object.fromEntries(urlOf(request).searchParams)).toEqual({ output_format: "mp3_44100_64", enable_logging: "false" });
    expect(request?.headers.get("xi-api-key")).toBe(SECRETS.ELEVENLABS_API_KEY);
    expect(request?.body).toEqual({
      text: "Hello from the native route.",
      model_id: "eleven_multilingual_v2",
      voice_settings: { stability: 0.4, similarity_boost: 0.8, speed: 1.1 },
      seed: 42,
    });
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT quantity FROM usage WHERE org_id = ? AND metric = 'tts_characters'").bind(org.id).first<{ quantity: number }>();
      expect(row?.quantity).toBe("Hello from the native route.".length);
    });
  });

  const invalid: [string, Record<string, unknown>, string, string][] = [
    ["no voice", { text: "Hi" }, "parameter.missing", "voice_id"],
    ["a voice id with a slash", { voice_id: "../x", text: "Hi" }, "parameter.invalid", "voice_id"],
    ["stability above 1", { voice_id: "abc", text: "Hi", voice_settings: { stability: 2 } }, "parameter.invalid", "voice_settings.stability"],
    ["an unknown output format", { voice_id: "abc", text: "Hi", output_format: "wav_99" }, "parameter.invalid", "output_format"],
    [
      "four dictionaries",
      { voice_id: "abc", text: "Hi", pronunciation_dictionary_locators: [1, 2, 3, 4].map((n) => ({ pronunciation_dictionary_id: `d${n}` })) },
      "parameter.invalid",
      "pronunciation_dictionary_locators",
    ],
    ["an unknown field", { voice_id: "abc", text: "Hi", stream: true }, "parameter.unknown", "stream"],
  ];
  for (const [what, body, code, param] of invalid) {
    it(`${what}: 400 ${code} on ${param}`, async () => {
      fakeUpstream(audio("audio/mpeg"));
      await expectError((await call("/v1/tts/elevenlabs", body)).res, 400, { type: "invalid_request", code, param });
    });
  }
});

describe("POST /v1/tts/deepgram", () => {
  it("sends Deepgram's own request with `Token` auth and always an encoding", async () => {
    const sent = fakeUpstream(audio("audio/wav"));
    const { res } = await call("/v1/tts/deepgram", {
      text: "Native Deepgram.",
      model: "aura-2-helena-en",
      encoding: "linear16",
      container: "wav",
      sample_rate: 16000,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/wav");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(audioBytes);
    expect(urlOf(sent[0]).pathname).toBe("/v1/speak");
    expect(Object.fromEntries(urlOf(sent[0]).searchParams)).toEqual({
      model: "aura-2-helena-en",
      encoding: "linear16",
      container: "wav",
      sample_rate: "16000",
    });
    expect(sent[0]?.headers.get("Authorization")).toBe(`Token ${SECRETS.DEEPGRAM_API_KEY}`);
    expect(sent[0]?.body).toEqual({ text: "Native Deepgram." });

    const defaults = fakeUpstream(audio("audio/mpeg"));
    await (await call("/v1/tts/deepgram", { text: "Defaults." })).res.arrayBuffer();
    expect(Object.fromEntries(urlOf(defaults[0]).searchParams)).toEqual({ model: "aura-2-thalia-en", encoding: "mp3" });
  });

  it("refuses combinations Deepgram does not allow, and asynchronous callbacks", async () => {
    fakeUpstream(audio("audio/mpeg"));
    await expectError((await call("/v1/tts/deepgram", { text: "x", encoding: "mp3", container: "wav" })).res, 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "container",
    });
    await expectError((await call("/v1/tts/deepgram", { text: "x", model: "nova-3" })).res, 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "model",
    });
    await expectError((await call("/v1/tts/deepgram", { text: "x", callback: "https://me.example/hook" })).res, 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "callback",
    });
  });

  it("maps Deepgram's errors, without its key", async () => {
    fakeUpstream(
      () =>
        new Response(JSON.stringify({ err_code: "INVALID_AUTH", err_msg: `Invalid credentials ${SECRETS.DEEPGRAM_API_KEY}`, request_id: "r" }), {
          status: 401,
        }),
    );
    const { res } = await call("/v1/tts/deepgram", { text: "x" });
    expect(await res.clone().text()).not.toContain(SECRETS.DEEPGRAM_API_KEY);
    await expectError(res, 503, { type: "service_unavailable", code: "provider.unavailable" });
  });
});

describe("POST /v1/tts/groq", () => {
  it("sends Groq's own request with our key", async () => {
    const sent = fakeUpstream(audio("audio/wav"));
    const { res } = await call("/v1/tts/groq", { model: "canopylabs/orpheus-arabic-saudi", input: "مرحبا", voice: "noura" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/wav");
    expect(urlOf(sent[0]).pathname).toBe("/openai/v1/audio/speech");
    expect(sent[0]?.headers.get("Authorization")).toBe(`Bearer ${SECRETS.GROQ_API_KEY}`);
    expect(sent[0]?.body).toEqual({ model: "canopylabs/orpheus-arabic-saudi", input: "مرحبا", voice: "noura", response_format: "wav" });
  });

  it("a voice of another model, or a format Orpheus does not give, is refused", async () => {
    fakeUpstream(audio("audio/wav"));
    await expectError((await call("/v1/tts/groq", { model: "canopylabs/orpheus-v1-english", input: "Hi", voice: "noura" })).res, 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "voice",
    });
    await expectError((await call("/v1/tts/groq", { model: "canopylabs/orpheus-v1-english", input: "Hi", voice: "troy", response_format: "mp3" })).res, 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "response_format",
    });
  });

  it("an upstream 429 is 429 provider.rate_limited with Retry-After", async () => {
    fakeUpstream(
      () =>
        new Response(JSON.stringify({ error: { message: "Rate limit reached", type: "tokens", code: "rate_limit_exceeded" } }), {
          status: 429,
          headers: { "retry-after": "3" },
        }),
    );
    const { res } = await call("/v1/tts/groq", { model: "canopylabs/orpheus-v1-english", input: "Hi", voice: "troy" });
    expect(res.headers.get("Retry-After")).toBe("3");
    await expectError(res, 429, { type: "rate_limit", code: "provider.rate_limited" });
  });
});

describe("without credentials, or without a key", () => {
  it("each native route is 503 provider.not_configured on a deployment without the provider's key", async () => {
    for (const [path, body] of [
      ["/v1/tts/elevenlabs", { voice_id: "abc", text: "Hi" }],
      ["/v1/tts/deepgram", { text: "Hi" }],
      ["/v1/tts/groq", { model: "canopylabs/orpheus-v1-english", input: "Hi", voice: "troy" }],
    ] as const) {
      const res = await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      await expectError(res, 503, { type: "service_unavailable", code: "provider.not_configured" });
    }
  });

  it("each needs an API key", async () => {
    for (const path of ["/v1/tts/elevenlabs", "/v1/tts/deepgram", "/v1/tts/groq"]) {
      await expectError(await api(path, { method: "POST", key: null }), 401, { type: "authentication", code: "api_key.missing" });
    }
  });
});
