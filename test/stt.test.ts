import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { pcm16ToBytes, wavHeader } from "../src/providers/tts/wav";
import { freshOrg } from "./helpers/auth";
import { api, expectError, KEYS } from "./helpers/http";

/**
 * `POST /v1/stt` through HTTP, with the offline mock: the mock voice's audio (made by POST /v1/tts)
 * read back to its text, the upload's checks, the route's 25 MiB limit and the usage it counts.
 */

const SENTENCE = "The quick brown fox jumps over the lazy dog.";

const speak = async (text: string, format: "wav" | "pcm_16000" | "pcm_24000") => {
  const res = await api("/v1/tts", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text, voice_id: "mock:warm", format }),
  });
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
};

const form = (fields: Record<string, string | Blob>) => {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
};
const wavFile = (bytes: Uint8Array, name = "audio.wav") => new File([bytes], name, { type: "audio/wav" });
const stt = (fields: Record<string, string | Blob>, key: string = KEYS.demo) => api("/v1/stt", { method: "POST", key, body: form(fields) });

/** A WAV file of `samples` (interleaved when `channels` > 1). */
const wav = (samples: Int16Array, sampleRate: number, channels = 1, bitsPerSample = 16) =>
  new Uint8Array([...wavHeader({ sampleRate, channels, bitsPerSample, dataBytes: samples.length * 2 }), ...pcm16ToBytes(samples)]);

interface TranscriptionJson {
  object: string;
  text: string;
  model: string;
  language: string | null;
  duration_s: number;
}

describe("POST /v1/stt with the mock", () => {
  it("reads the mock voice's WAV back to its text, with the audio's length", async () => {
    const audio = await speak(SENTENCE, "wav");
    const res = await stt({ file: wavFile(audio), model: "mock:default" });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-STT-Provider")).toBe("mock");
    const body = (await res.json()) as TranscriptionJson;
    const seconds = (audio.length - 44) / 2 / 24_000;
    expect(body).toEqual({ object: "transcription", text: SENTENCE, model: "mock:default", language: null, duration_s: expect.any(Number) });
    expect(body.duration_s).toBeCloseTo(seconds, 2);
  });

  it("reads raw PCM at 16 kHz (the voice resampled) given input_audio_format", async () => {
    const audio = await speak(SENTENCE, "pcm_16000");
    const res = await stt({ file: new File([audio], "audio.pcm"), model: "mock:default", input_audio_format: "pcm_16000" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TranscriptionJson;
    expect(body.text).toBe(SENTENCE);
    expect(body.duration_s).toBeCloseTo(audio.length / 2 / 16_000, 2);
  });

  it("mixes a stereo WAV down to mono", async () => {
    const pcm = await speak("Stereo works too.", "pcm_24000");
    const mono = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((s, i) => {
      stereo[2 * i] = s;
      stereo[2 * i + 1] = s;
    });
    const res = await stt({ file: wavFile(wav(stereo, 24_000, 2)), model: "mock:default" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TranscriptionJson).text).toBe("Stereo works too.");
  });

  it("transcribes a sound that is not the mock voice as a placeholder with its length", async () => {
    const silence = new Int16Array(16_000);
    const res = await stt({ file: wavFile(wav(silence, 16_000)), model: "mock:default" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TranscriptionJson;
    expect(body.text).toMatch(/^\[.*\b1(\.0)? s\]$/);
    expect(body.duration_s).toBe(1);
  });

  it("takes an upload over the global 1 MiB (its limit is 25 MiB); other routes still refuse one", async () => {
    const long = await speak("A longer recording. ".repeat(40).trim(), "wav");
    expect(long.length).toBeGreaterThan(1024 * 1024);
    const res = await stt({ file: wavFile(long), model: "mock:default" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TranscriptionJson).text).toBe("A longer recording. ".repeat(40).trim());
    const elsewhere = await api("/v1/tts", { method: "POST", headers: { "Content-Type": "application/json" }, body: `{"text":"${"a".repeat(1024 * 1024)}"}` });
    await expectError(elsewhere, 413, { type: "invalid_request", code: "request.too_large" });
  });

  it("counts the seconds of audio for the org, rounded up per request", async () => {
    const org = await freshOrg("pro");
    const audio = await speak("Count me.", "wav");
    const seconds = (audio.length - 44) / 2 / 24_000;
    for (let i = 0; i < 2; i++) expect((await stt({ file: wavFile(audio), model: "mock:default" }, org.key)).status).toBe(200);
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT quantity FROM usage WHERE org_id = ? AND metric = 'stt_seconds'").bind(org.id).first<{ quantity: number }>();
      expect(row?.quantity).toBe(2 * Math.ceil(seconds));
    });
  });
});

describe("POST /v1/stt errors", () => {
  const silence = () => wavFile(wav(new Int16Array(1600), 16_000));

  it("needs a key", async () => {
    const res = await api("/v1/stt", { method: "POST", key: null, body: form({ file: silence(), model: "mock:default" }) });
    await expectError(res, 401, { type: "authentication", code: "api_key.missing" });
  });

  it("refuses a missing file or model, an unknown field and a bad language", async () => {
    await expectError(await stt({ model: "mock:default" }), 400, { type: "invalid_request", code: "parameter.missing", param: "file" });
    await expectError(await stt({ file: silence() }), 400, { type: "invalid_request", code: "parameter.missing", param: "model" });
    await expectError(await stt({ file: silence(), model: "mock:default", temperature: "0" }), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "temperature",
    });
    await expectError(await stt({ file: silence(), model: "mock:default", language: "english" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "language",
    });
    await expectError(await stt({ file: "not a file", model: "mock:default" }), 400, { type: "invalid_request", code: "parameter.invalid", param: "file" });
  });

  it("refuses a model nobody offers, and one this deployment has no key for", async () => {
    for (const model of ["mock:nope", "acme:whisper", "whisper-1", "openai:"]) {
      await expectError(await stt({ file: silence(), model }), 422, { type: "unprocessable", code: "model.unknown", param: "model" });
    }
    await expectError(await stt({ file: silence(), model: "openai:whisper-1" }), 503, { type: "service_unavailable", code: "provider.not_configured" });
  });

  it("refuses files it cannot read: not WAV without a rate, WAV with one, odd PCM, empty, not 16-bit", async () => {
    const raw = new File([new Uint8Array(3200)], "audio.pcm");
    await expectError(await stt({ file: raw, model: "mock:default" }), 400, { type: "invalid_request", code: "parameter.invalid", param: "file" });
    await expectError(await stt({ file: silence(), model: "mock:default", input_audio_format: "pcm_16000" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "input_audio_format",
    });
    await expectError(await stt({ file: new File([new Uint8Array(3)], "a.pcm"), model: "mock:default", input_audio_format: "pcm_16000" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "file",
    });
    await expectError(await stt({ file: new File([], "a.pcm"), model: "mock:default", input_audio_format: "pcm_16000" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "file",
    });
    await expectError(await stt({ file: wavFile(wav(new Int16Array(0), 16_000)), model: "mock:default" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "file",
    });
    const truncated = new Uint8Array([...new TextEncoder().encode("RIFF"), 0, 0, 0, 0, ...new TextEncoder().encode("WAVE")]);
    await expectError(await stt({ file: wavFile(truncated), model: "mock:default" }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "file",
    });
    const eightBit = wav(new Int16Array(800), 16_000, 1, 8);
    await expectError(await stt({ file: wavFile(eightBit), model: "mock:default" }), 422, { type: "unprocessable", code: "format.unsupported", param: "file" });
    await expectError(await stt({ file: wavFile(wav(new Int16Array(800), 4000)), model: "mock:default" }), 422, {
      type: "unprocessable",
      code: "format.unsupported",
      param: "file",
    });
  });

  it("takes only multipart/form-data", async () => {
    const res = await api("/v1/stt", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ model: "mock:default" }) });
    await expectError(res, 400, { type: "invalid_request", code: "request.unsupported_media_type" });
  });

  it("refuses a body over 25 MiB before reading it", async () => {
    const big = new Uint8Array(25 * 1024 * 1024 + 1);
    const res = await api("/v1/stt", {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(big.length) },
      body: big,
    });
    const error = await expectError(res, 413, { type: "invalid_request", code: "request.too_large" });
    expect(error.message).toContain("25 MiB");
  });
});
