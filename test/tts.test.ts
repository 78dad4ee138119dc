import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { decodeSpeech } from "../src/providers/tts/mock-speech";
import { bytesToPcm16, parseWav } from "../src/providers/tts/wav";
import { freshOrg } from "./helpers/auth";
import type { List } from "./helpers/fixtures";
import { api, BASE, expectError, KEYS } from "./helpers/http";

/** The TTS gateway through HTTP. */

afterEach(() => vi.restoreAllMocks());

const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const tts = (body: unknown, key?: string) => post("/v1/tts", body, key);
const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());

const rms = (samples: Int16Array) => Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / Math.max(1, samples.length));

interface Line {
  audio: string;
  alignment: { chars: string[]; start_ms: number[]; duration_ms: number[] } | null;
}
const decode64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

// A deployment with Deepgram pointed at a fake, for the streaming-discipline tests.
const UPSTREAM = {
  DEEPGRAM_API_KEY: "dg-tts-test-secret-0001",
  DEEPGRAM_BASE_URL: "https://fake-deepgram.test",
  TTS_FIRST_BYTE_TIMEOUT_MS: "300",
  TTS_STREAM_IDLE_TIMEOUT_MS: "300",
};
const configured = { ...env, ...UPSTREAM };
const app = createApp();
async function viaConfigured(path: string, body: unknown, key: string = KEYS.demo) {
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

/** A fake Deepgram answer: `count` chunks of audio bytes, `gapMs` apart; records cancellation. */
function slowAudio(count: number, gapMs: number, stallAfter = Number.POSITIVE_INFINITY) {
  const state = { sent: 0, cancelled: false, finished: false };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (state.sent > 0) await new Promise((r) => setTimeout(r, state.sent >= stallAfter ? 60_000 : gapMs));
      if (state.cancelled) return;
      if (state.sent === count) {
        state.finished = true;
        return controller.close();
      }
      controller.enqueue(new Uint8Array(4800).fill(state.sent + 1));
      state.sent += 1;
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { response: new Response(stream, { headers: { "Content-Type": "audio/mpeg" } }), state };
}

describe("POST /v1/tts with a mock voice", () => {
  it("answers a WAV that parses, is not silent, varies in loudness, and says the text", async () => {
    const text = "Hello there! This is the mock voice, reading a sentence aloud.";
    const res = await tts({ text, voice_id: "mock:warm" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/wav");
    expect(res.headers.get("X-TTS-Provider")).toBe("mock");
    expect(res.headers.get("X-TTS-Characters")).toBe(String(text.length));
    const wav = parseWav(await bytes(res));
    expect(wav).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    expect(wav.dataBytes).toBe(wav.samples.length * 2);
    expect(rms(wav.samples)).toBeGreaterThan(500);
    const frames = Array.from({ length: Math.floor(wav.samples.length / 480) }, (_, i) => rms(wav.samples.subarray(i * 480, (i + 1) * 480)));
    expect(Math.max(...frames)).toBeGreaterThan(10 * (Math.min(...frames) + 1));
    expect(decodeSpeech(wav.samples, 24000)).toBe(text);
  });

  it("is deterministic, and its duration grows with the text", async () => {
    const a = await bytes(await tts({ text: "Same words, same sound." }));
    const b = await bytes(await tts({ text: "Same words, same sound." }));
    expect(a).toEqual(b);
    const durations = [];
    for (const text of ["Hi.", "Hello, how are you today?", "Hello, how are you today? I hope the weather is kind to you where you are."]) {
      durations.push(parseWav(await bytes(await tts({ text }))).samples.length);
    }
    expect(durations[0]).toBeLessThan(durations[1] ?? 0);
    expect(durations[1]).toBeLessThan(durations[2] ?? 0);
  });

  it("gives raw PCM at 24 kHz and at 16 kHz, each decodable", async () => {
    const text = "Raw audio, two rates.";
    const at24 = await tts({ text, format: "pcm_24000" });
    expect(at24.headers.get("Content-Type")).toMatch(/^audio\/pcm;rate=24000/);
    const pcm24 = bytesToPcm16(await bytes(at24));
    const at16 = await tts({ text, format: "pcm_16000" });
    expect(at16.headers.get("Content-Type")).toMatch(/^audio\/pcm;rate=16000/);
    const pcm16 = bytesToPcm16(await bytes(at16));
    expect(Math.abs(pcm16.length - (pcm24.length * 2) / 3)).toBeLessThan(40);
    expect(decodeSpeech(pcm24, 24000)).toBe(text);
    expect(decodeSpeech(pcm16, 16000)).toBe(text);
  });

  it("with timestamps answers NDJSON whose timings cover every character, in order, within the audio", async () => {
    const text = "Timings for lips: every character, in order.";
    const res = await tts({ text, voice_id: "mock:bright", format: "pcm_24000", timestamps: true });
    expect(res.headers.get("Content-Type")).toBe("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
    expect(lines.length).toBeGreaterThan(1);
    let offset = 0;
    const chars: string[] = [];
    let lastStart = -1;
    for (const line of lines) {
      const audio = decode64(line.audio);
      const lineMs = (audio.length / 2 / 24000) * 1000;
      for (const [i, char] of (line.alignment?.chars ?? []).entries()) {
        const start = offset + (line.alignment?.start_ms[i] ?? 0);
        expect(start).toBeGreaterThanOrEqual(lastStart);
        lastStart = start;
        chars.push(char);
      }
      offset += lineMs;
    }
    expect(chars.join("")).toBe(text);
    expect(lastStart).toBeLessThan(offset);
  });

  it("streams long text in many chunks", async () => {
    const text = "This sentence is long enough to need several chunks of audio. ".repeat(40).trim();
    const res = await tts({ text, format: "pcm_24000" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let reads = 0;
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      reads += 1;
    }
    expect(reads).toBeGreaterThan(20);
  });

  it("counts the characters synthesized for the org, off the response path", async () => {
    const org = await freshOrg("pro");
    const text = "Count these characters: éü🙂.";
    const res = await tts({ text }, org.key);
    await res.arrayBuffer();
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT quantity FROM usage WHERE org_id = ? AND metric = 'tts_characters'").bind(org.id).first<{ quantity: number }>();
      expect(row?.quantity).toBe([...text].length);
    });
    await (await tts({ text: "More." }, org.key)).arrayBuffer();
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT quantity FROM usage WHERE org_id = ? AND metric = 'tts_characters'").bind(org.id).first<{ quantity: number }>();
      expect(row?.quantity).toBe([...text].length + 5);
    });
  });
});

describe("POST /v1/tts errors", () => {
  const cases: [string, Record<string, unknown>, number, string, string][] = [
    ["no text", { voice_id: "mock:warm" }, 400, "parameter.missing", "text"],
    ["empty text", { text: "   " }, 400, "parameter.invalid", "text"],
    ["text over 5,000", { text: "x".repeat(5001) }, 400, "parameter.invalid", "text"],
    ["NUL in text", { text: "a\u0000b" }, 400, "parameter.invalid", "text"],
    ["an unknown format", { text: "Hi", format: "ogg" }, 400, "parameter.invalid", "format"],
    ["speed 3", { text: "Hi", speed: 3 }, 400, "parameter.invalid", "speed"],
    ["an unknown field", { text: "Hi", pitch: 2 }, 400, "parameter.unknown", "pitch"],
    ["an unknown voice", { text: "Hi", voice_id: "mock:shouty" }, 422, "voice.unknown", "voice_id"],
    ["a voice without a provider", { text: "Hi", voice_id: "warm" }, 422, "voice.unknown", "voice_id"],
    ["mp3 from the mock", { text: "Hi", format: "mp3" }, 422, "format.unsupported", "format"],
  ];
  for (const [what, body, status, code, param] of cases) {
    it(`${what}: ${status} ${code} on ${param}`, async () => {
      await expectError(await tts(body), status, { type: status === 400 ? "invalid_request" : "unprocessable", code, param });
    });
  }

  it("a provider without a key is 503 provider.not_configured", async () => {
    for (const voice_id of ["deepgram:aura-2-thalia-en", "elevenlabs:21m00Tcm4TlvDq8ikWAM", "groq:autumn"]) {
      await expectError(await tts({ text: "Hi", voice_id }), 503, { type: "service_unavailable", code: "provider.not_configured" });
    }
  });

  it("needs an API key", async () => {
    await expectError(await api("/v1/tts", { method: "POST", key: null }), 401, { type: "authentication", code: "api_key.missing" });
  });
});

describe("streaming discipline, through an upstream", () => {
  it("the first audio reaches the client before the upstream has finished", async () => {
    const fake = slowAudio(6, 60);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => fake.response);
    const { res, done } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en", format: "mp3" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/mpeg");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.value?.[0]).toBe(1);
    expect(fake.state.finished).toBe(false);
    let total = first.value?.length ?? 0;
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      total += value.length;
    }
    expect(total).toBe(6 * 4800);
    await done();
  });

  it("a client that goes away cancels the upstream request", async () => {
    const fake = slowAudio(100, 20);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => fake.response);
    const { res } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en", format: "mp3" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(() => expect(fake.state.cancelled).toBe(true), { timeout: 1000 });
    expect(fake.state.sent).toBeLessThan(100);
  });

  it("no audio within the timeout is 503 provider.timeout, before any header", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) => new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
    );
    const { res } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en" });
    await expectError(res, 503, { type: "service_unavailable", code: "provider.timeout" });
  });

  it("headers but no audio within the timeout is 503 provider.timeout too", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(new ReadableStream(), { headers: { "Content-Type": "audio/wav" } }));
    const { res } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en" });
    await expectError(res, 503, { type: "service_unavailable", code: "provider.timeout" });
  });

  it("a stall after the first audio cuts the stream", async () => {
    const fake = slowAudio(10, 5, 2);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => fake.response);
    const { res } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en", format: "mp3" });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it("an upstream error never shows the key or the host", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () =>
        new Response(
          JSON.stringify({
            err_code: "INVALID_AUTH",
            err_msg: `Invalid credentials ${UPSTREAM.DEEPGRAM_API_KEY} at https://fake-deepgram.test`,
            request_id: "x",
          }),
          {
            status: 401,
            headers: { "Content-Type": "application/json" },
          },
        ),
    );
    const { res } = await viaConfigured("/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en" });
    const text = await res.clone().text();
    expect(text).not.toContain(UPSTREAM.DEEPGRAM_API_KEY);
    expect(text).not.toContain("fake-deepgram");
    await expectError(res, 503, { type: "service_unavailable", code: "provider.unavailable" });
  });

  it("an upstream 400 is an envelope with a fixed message and the upstream's code, never its words", async () => {
    const leaks = [
      "db-primary.corp.lan",
      "10.12.0.7",
      "http://10.12.0.7:8080/internal/debug",
      "AKIAIOSFODNN7EXAMPLE",
      UPSTREAM.DEEPGRAM_API_KEY,
      "fake-deepgram",
    ];
    const errMsg = `Upstream db-primary.corp.lan (10.12.0.7) could not route this request; see http://10.12.0.7:8080/internal/debug. Signed with AKIAIOSFODNN7EXAMPLE and key ${UPSTREAM.DEEPGRAM_API_KEY}.`;
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () =>
        new Response(JSON.stringify({ err_code: "UNSUPPORTED_MODEL", err_msg: errMsg, request_id: "x" }), {
          status: 400,
          headers: { "Content-Type": "application/json" },
        }),
    );
    for (const [path, body] of [
      ["/v1/tts", { text: "Hello", voice_id: "deepgram:aura-2-thalia-en" }],
      ["/v1/tts/deepgram", { text: "Hello", model: "aura-2-thalia-en", encoding: "linear16", container: "wav" }],
      ["/v1/tts/preview", { voice_id: "deepgram:aura-2-luna-en", text: "Nothing cached for this one." }],
    ] as const) {
      const { res } = await viaConfigured(path, body);
      const text = await res.clone().text();
      for (const leak of leaks) expect(text).not.toContain(leak);
      const error = await expectError(res, 400, { type: "invalid_request", code: "provider.rejected" });
      expect(error.message).toBe("deepgram refused the request as invalid (upstream code: UNSUPPORTED_MODEL).");
    }
  });
});

interface Voice {
  id: string;
  object: string;
  provider: string;
  language: string;
  available: boolean;
}

describe("GET /v1/tts/voices", () => {
  it("lists every provider's voices without a key, with availability", async () => {
    const page = (await (await api("/v1/tts/voices?limit=100", { key: null })).json()) as List<Voice>;
    expect(page.data[0]).toMatchObject({ id: "mock:warm", object: "voice", provider: "mock", available: true });
    const providers = new Set(page.data.map((v) => v.provider));
    expect([...providers].sort()).toEqual(["deepgram", "elevenlabs", "groq", "mock"]);
    for (const v of page.data) expect(v.available).toBe(v.provider === "mock");
  });

  it("filters by provider and language, and walks in cursor pages", async () => {
    const groq = (await (await api("/v1/tts/voices?provider=groq&language=ar", { key: null })).json()) as List<Voice>;
    expect(groq.data.map((v) => v.id)).toEqual(["groq:abdullah", "groq:fahad", "groq:sultan", "groq:lulwa", "groq:noura", "groq:aisha"]);
    const all = ((await (await api("/v1/tts/voices?limit=100", { key: null })).json()) as List<Voice>).data.map((v) => v.id);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: List<Voice> = (await (await api(`/v1/tts/voices?limit=7${cursor ? `&starting_after=${cursor}` : ""}`, { key: null })).json()) as List<Voice>;
      walked.push(...page.data.map((v) => v.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all);
    await expectError(await api("/v1/tts/voices?starting_after=mock:nope", { key: null }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
  });

  it("a configured ElevenLabs account adds its own voices, fetched once and then cached", async () => {
    const calls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return Response.json({
        voices: [
          {
            voice_id: "CloneVoice0000000001",
            name: "My clone",
            category: "cloned",
            labels: { accent: "british", gender: "female" },
            description: "Our brand voice",
            preview_url: "https://storage.example/clone.mp3",
          },
          { voice_id: "21m00Tcm4TlvDq8ikWAM", name: "Rachel", category: "premade", labels: {} },
        ],
      });
    });
    const ctx = createExecutionContext();
    const elevenEnv = { ...env, ELEVENLABS_API_KEY: "xi-voices-test-0001", ELEVENLABS_BASE_URL: "https://fake-elevenlabs.test" };
    const list = async () => {
      const res = await app.fetch(new Request(`${BASE}/v1/tts/voices?provider=elevenlabs&limit=100`), elevenEnv, ctx);
      return (await res.json()) as List<Voice & { name: string }>;
    };
    const first = await list();
    expect(first.data.find((v) => v.id === "elevenlabs:CloneVoice0000000001")).toMatchObject({ name: "My clone", available: true });
    expect(first.data.filter((v) => v.id === "elevenlabs:21m00Tcm4TlvDq8ikWAM")).toHaveLength(1);
    expect(first.data.every((v) => v.available)).toBe(true);
    await list();
    expect(calls.filter((u) => u.endsWith("/v1/voices"))).toHaveLength(1);
  });
});

describe("POST /v1/tts/preview", () => {
  it("speaks a short sample, and the same one again comes from the cache with no synthesis", async () => {
    const org = await freshOrg("pro");
    const first = await post("/v1/tts/preview", { voice_id: "mock:deep", text: "A preview of this voice." }, org.key);
    expect(first.status).toBe(200);
    expect(first.headers.get("X-TTS-Cache")).toBe("miss");
    const a = await bytes(first);
    expect(parseWav(a).sampleRate).toBe(24000);
    // A custom text: cached under the org's own key.
    const key = `https://tts-preview.cache.internal/org/${await hexOf(JSON.stringify([org.id, "mock:deep", "A preview of this voice."]))}`;
    await vi.waitFor(async () => expect(await caches.default.match(key)).toBeDefined());
    const second = await post("/v1/tts/preview", { voice_id: "mock:deep", text: "A preview of this voice." }, org.key);
    expect(second.headers.get("X-TTS-Cache")).toBe("hit");
    expect(await bytes(second)).toEqual(a);
  });

  it("through an upstream: the second identical preview makes no upstream call", async () => {
    const wav = new Uint8Array(await (await tts({ text: "Fake upstream preview audio.", format: "wav" })).arrayBuffer());
    let calls = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      calls += 1;
      return new Response(wav, { headers: { "Content-Type": "audio/wav" } });
    });
    const one = await viaConfigured("/v1/tts/preview", { voice_id: "deepgram:aura-2-helena-en" });
    expect(one.res.headers.get("X-TTS-Cache")).toBe("miss");
    expect(await bytes(one.res)).toEqual(wav);
    await one.done();
    const two = await viaConfigured("/v1/tts/preview", { voice_id: "deepgram:aura-2-helena-en" });
    expect(two.res.headers.get("X-TTS-Cache")).toBe("hit");
    expect(await bytes(two.res)).toEqual(wav);
    expect(calls).toBe(1);
  });

  it("a custom text is cached per org: the org that asked hits, another org misses and is spoken for afresh", async () => {
    const wav = new Uint8Array(await (await tts({ text: "Fake upstream preview audio.", format: "wav" })).arrayBuffer());
    const calls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return new Response(wav, { headers: { "Content-Type": "audio/wav" } });
    });
    const custom = { voice_id: "deepgram:aura-2-andromeda-en", text: "Our launch date is the fourteenth of March." };
    // org_demo asks first: a miss (one upstream call), then a hit (none).
    const a1 = await viaConfigured("/v1/tts/preview", custom, KEYS.demo);
    expect(a1.res.headers.get("X-TTS-Cache")).toBe("miss");
    expect(await bytes(a1.res)).toEqual(wav);
    await a1.done();
    const a2 = await viaConfigured("/v1/tts/preview", custom, KEYS.demo);
    expect(a2.res.headers.get("X-TTS-Cache")).toBe("hit");
    expect(await bytes(a2.res)).toEqual(wav);
    await a2.done();
    expect(calls).toHaveLength(1);
    // org_other guessing the same text learns nothing: a miss, and the upstream is asked again.
    const b1 = await viaConfigured("/v1/tts/preview", custom, KEYS.other);
    expect(b1.res.headers.get("X-TTS-Cache")).toBe("miss");
    expect(await bytes(b1.res)).toEqual(wav);
    await b1.done();
    expect(calls).toHaveLength(2);
    // ... and then it has an entry of its own, while org_demo's is still there.
    const b2 = await viaConfigured("/v1/tts/preview", custom, KEYS.other);
    expect(b2.res.headers.get("X-TTS-Cache")).toBe("hit");
    await bytes(b2.res);
    const a3 = await viaConfigured("/v1/tts/preview", custom, KEYS.demo);
    expect(a3.res.headers.get("X-TTS-Cache")).toBe("hit");
    await bytes(a3.res);
    expect(calls).toHaveLength(2);
  });

  it("a custom text is per org with a mock voice too, whichever org asks first", async () => {
    const custom = { voice_id: "mock:bright", text: "Project Nightingale ships on Friday." };
    const first = await post("/v1/tts/preview", custom, KEYS.other);
    expect(first.headers.get("X-TTS-Cache")).toBe("miss");
    await bytes(first);
    await vi.waitFor(async () => {
      const again = await post("/v1/tts/preview", custom, KEYS.other);
      await bytes(again);
      expect(again.headers.get("X-TTS-Cache")).toBe("hit");
    });
    for (const key of [KEYS.demo, KEYS.free]) {
      const other = await post("/v1/tts/preview", custom, key);
      expect(other.status).toBe(200);
      expect(other.headers.get("X-TTS-Cache")).toBe("miss");
      await bytes(other);
    }
  });

  it("a default sample is shared across orgs, and a custom text equal to it is that sample", async () => {
    const wav = new Uint8Array(await (await tts({ text: "Fake upstream preview audio.", format: "wav" })).arrayBuffer());
    let calls = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      calls += 1;
      return new Response(wav, { headers: { "Content-Type": "audio/wav" } });
    });
    const voice = { voice_id: "deepgram:aura-2-zeus-en" };
    const a = await viaConfigured("/v1/tts/preview", voice, KEYS.demo);
    expect(a.res.headers.get("X-TTS-Cache")).toBe("miss");
    await bytes(a.res);
    await a.done();
    const b = await viaConfigured("/v1/tts/preview", voice, KEYS.other);
    expect(b.res.headers.get("X-TTS-Cache")).toBe("hit");
    expect(await bytes(b.res)).toEqual(wav);
    // The default English sample, sent as `text`: public words, so the shared entry answers it.
    const sample = "Hello! This is how I sound. I can read anything you give me, in real time.";
    const c = await viaConfigured("/v1/tts/preview", { ...voice, text: sample }, KEYS.free);
    expect(c.res.headers.get("X-TTS-Cache")).toBe("hit");
    await bytes(c.res);
    expect(calls).toBe(1);
  });

  it("validates the voice and the text", async () => {
    await expectError(await post("/v1/tts/preview", { voice_id: "mock:nope" }), 422, { type: "unprocessable", code: "voice.unknown", param: "voice_id" });
    await expectError(await post("/v1/tts/preview", { voice_id: "mock:warm", text: "x".repeat(201) }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "text",
    });
    await expectError(await post("/v1/tts/preview", {}), 400, { type: "invalid_request", code: "parameter.missing", param: "voice_id" });
  });
});

async function hexOf(text: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
