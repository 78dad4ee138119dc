import { describe, expect, it } from "vitest";
import type { AiBinding, Config } from "../src/config";
import { ApiError } from "../src/lib/errors";
import type { SttStreamEvents } from "../src/providers/stt/types";
import { workersAi } from "../src/providers/stt/workers-ai";
import { parseWav } from "../src/providers/tts/wav";
import { deployment, providerContext, sleep } from "./helpers/upstream-harness";

/**
 * Workers AI's speech models through a fake `AI` binding (the real one cannot run offline): what
 * the binding is asked (model, inputs, `websocket: true`), Deepgram's and Flux's live messages over
 * the binding's socket, Whisper's one request per utterance, and the binding's failures.
 */

interface RunCall {
  model: string;
  inputs: Record<string, unknown>;
  options?: { websocket?: boolean };
}

/** A binding that records its calls; a socket call answers 101 with a pair whose server end the test plays. */
class FakeAi implements AiBinding {
  readonly calls: RunCall[] = [];
  readonly servers: WebSocket[] = [];
  readonly received: (string | Uint8Array)[] = [];
  constructor(private readonly answer: (call: RunCall) => unknown = () => ({ text: " Hello there." })) {}
  async run(model: string, inputs: Record<string, unknown>, options?: { websocket?: boolean }): Promise<unknown> {
    const call: RunCall = { model, inputs, ...(options ? { options } : {}) };
    this.calls.push(call);
    if (options?.websocket) {
      const pair = new WebSocketPair();
      const server = pair[1];
      server.binaryType = "arraybuffer";
      server.accept();
      server.addEventListener("message", (e) => this.received.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer)));
      this.servers.push(server);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    return this.answer(call);
  }
}

const BASE = deployment({ TTS_FIRST_BYTE_TIMEOUT_MS: "300" });
const withAi = (ai: AiBinding | undefined): Config => ({ ...BASE, ai });

function recorder() {
  const calls: [string, unknown?][] = [];
  const events: SttStreamEvents = {
    interim: (text) => calls.push(["interim", text]),
    speechStarted: () => calls.push(["speechStarted"]),
    endOfTurn: () => calls.push(["endOfTurn"]),
    error: (error) => calls.push(["error", error]),
  };
  const until = async (name: string, count = 1) => {
    for (let i = 0; i < 200 && calls.filter((c) => c[0] === name).length < count; i++) await sleep(5);
    return calls.filter((c) => c[0] === name);
  };
  return { calls, events, until };
}

const audio = (ms: number, rate = 16_000) => ({ samples: new Int16Array((ms * rate) / 1000).fill(500), sampleRate: rate });

describe("the provider", () => {
  it("is configured exactly when the deployment has the AI binding; nova-3 is its default", () => {
    expect(workersAi.configured(withAi(undefined))).toBe(false);
    expect(workersAi.configured(withAi(new FakeAi()))).toBe(true);
    expect(workersAi.models[0]).toBe("@cf/deepgram/nova-3");
  });
});

describe("nova-3, live", () => {
  it("opens the binding's socket with Deepgram's inputs as strings, forwards audio, reads Results", async () => {
    const ai = new FakeAi();
    const r = recorder();
    const session = workersAi.stream({ model: "@cf/deepgram/nova-3", sampleRate: 16_000, language: "en" }, r.events, providerContext(withAi(ai)));
    session.append(new Int16Array(320).fill(7));
    for (let i = 0; i < 50 && ai.servers.length === 0; i++) await sleep(5);
    expect(ai.calls[0]).toEqual({
      model: "@cf/deepgram/nova-3",
      inputs: {
        encoding: "linear16",
        sample_rate: "16000",
        interim_results: "true",
        vad_events: "true",
        endpointing: "300",
        utterance_end_ms: "1000",
        smart_format: "true",
        punctuate: "true",
        language: "en",
      },
      options: { websocket: true },
    });
    const server = ai.servers[0] as WebSocket;
    for (let i = 0; i < 50 && ai.received.length === 0; i++) await sleep(5);
    expect(ai.received[0]).toBeInstanceOf(Uint8Array);
    server.send(JSON.stringify({ type: "Results", is_final: true, speech_final: true, channel: { alternatives: [{ transcript: "Hello there." }] } }));
    await r.until("endOfTurn");
    expect(r.calls.find((c) => c[0] === "interim")?.[1]).toBe("Hello there.");
    // Deepgram ended the turn and nothing came after: the text is whole, no flush to wait for.
    expect(await session.finish()).toEqual({ text: "Hello there.", language: null });
    session.close();
  });
});

describe("flux, live", () => {
  it("StartOfTurn, Update and EndOfTurn are speech started, interim text and the provider's end of turn", async () => {
    const ai = new FakeAi();
    const r = recorder();
    const session = workersAi.stream({ model: "@cf/deepgram/flux", sampleRate: 16_000 }, r.events, providerContext(withAi(ai)));
    for (let i = 0; i < 50 && ai.servers.length === 0; i++) await sleep(5);
    expect(ai.calls[0]).toMatchObject({ model: "@cf/deepgram/flux", inputs: { encoding: "linear16", sample_rate: "16000" }, options: { websocket: true } });
    const server = ai.servers[0] as WebSocket;
    const turn = (event: string, transcript = "") =>
      server.send(JSON.stringify({ request_id: "r", sequence_id: 1, event, turn_index: 0, transcript, words: [], end_of_turn_confidence: 0.5 }));
    turn("StartOfTurn");
    turn("Update", "book a");
    turn("Update", "book a table");
    turn("EndOfTurn", "Book a table for two.");
    await r.until("endOfTurn");
    expect(r.calls.map((c) => c[0])).toEqual(["speechStarted", "interim", "interim", "endOfTurn"]);
    expect(await session.finish()).toEqual({ text: "Book a table for two.", language: null });
    session.close();
  });

  it("our VAD ending the turn first: ForceEndTurn, and Flux's EndOfTurn answers the finish", async () => {
    const ai = new FakeAi();
    const r = recorder();
    const session = workersAi.stream({ model: "@cf/deepgram/flux", sampleRate: 16_000 }, r.events, providerContext(withAi(ai)));
    session.append(new Int16Array(320));
    for (let i = 0; i < 50 && ai.servers.length === 0; i++) await sleep(5);
    const server = ai.servers[0] as WebSocket;
    server.send(JSON.stringify({ event: "Update", transcript: "hold on" }));
    await r.until("interim");
    const finished = session.finish();
    for (let i = 0; i < 50 && !ai.received.some((m) => typeof m === "string" && m.includes("ForceEndTurn")); i++) await sleep(5);
    server.send(JSON.stringify({ event: "EndOfTurn", transcript: "Hold on." }));
    expect((await finished).text).toBe("Hold on.");
    session.close();
  });

  it("is refused for a file (POST /v1/stt): it transcribes a live stream only", async () => {
    const error = await workersAi.transcribe({ audio: audio(500), model: "@cf/deepgram/flux" }, providerContext(withAi(new FakeAi()))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("provider.rejected");
  });
});

describe("whisper, one request per utterance", () => {
  it("sends the utterance as a base64 16 kHz mono WAV on finish, and trims the text", async () => {
    const ai = new FakeAi();
    const r = recorder();
    const session = workersAi.stream({ model: "@cf/openai/whisper-large-v3-turbo", sampleRate: 16_000 }, r.events, providerContext(withAi(ai)));
    session.append(audio(200).samples);
    session.append(audio(300).samples);
    expect(ai.calls).toHaveLength(0);
    expect(await session.finish()).toEqual({ text: "Hello there.", language: null });
    expect(ai.calls).toHaveLength(1);
    const call = ai.calls[0] as RunCall;
    expect(call.model).toBe("@cf/openai/whisper-large-v3-turbo");
    const wav = parseWav(Uint8Array.from(atob(call.inputs.audio as string), (c) => c.charCodeAt(0)));
    expect(wav).toMatchObject({ sampleRate: 16_000, channels: 1, bitsPerSample: 16 });
    expect(wav.samples.length).toBe((500 * 16_000) / 1000);
  });

  it("nova-3 for a file: the WAV as the body, Deepgram's transcript read back", async () => {
    const ai = new FakeAi(() => ({ results: { channels: [{ alternatives: [{ transcript: "A file.", confidence: 0.9 }] }] } }));
    const result = await workersAi.transcribe({ audio: audio(300), model: "@cf/deepgram/nova-3", language: "en" }, providerContext(withAi(ai)));
    expect(result.text).toBe("A file.");
    expect(ai.calls[0]?.inputs).toMatchObject({ audio: { contentType: "audio/wav" }, smart_format: true, language: "en" });
  });
});

describe("failures", () => {
  it("no binding is provider.not_configured", async () => {
    const error = await workersAi
      .transcribe({ audio: audio(100), model: "@cf/openai/whisper-large-v3-turbo" }, providerContext(withAi(undefined)))
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe("provider.not_configured");
  });

  it("the binding throwing is provider.unavailable, its message not passed on", async () => {
    const ai = new FakeAi(() => {
      throw new Error("AiError: 3040: internal capacity at 10.0.0.7");
    });
    const error = await workersAi
      .transcribe({ audio: audio(100), model: "@cf/openai/whisper-large-v3-turbo" }, providerContext(withAi(ai)))
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe("provider.unavailable");
    expect((error as ApiError).message).not.toContain("10.0.0.7");
  });

  it("a live model whose binding answers without a socket: one typed error", async () => {
    const ai: AiBinding = { run: async () => ({ not: "a socket" }) };
    const r = recorder();
    const session = workersAi.stream({ model: "@cf/deepgram/nova-3", sampleRate: 16_000 }, r.events, providerContext(withAi(ai)));
    const [[, error]] = (await r.until("error")) as [[string, ApiError]];
    expect(error.code).toBe("provider.unavailable");
    await expect(session.finish()).rejects.toBe(error);
  });

  it("the binding's socket closing with an error mid-utterance: one typed error", async () => {
    const ai = new FakeAi();
    const r = recorder();
    workersAi.stream({ model: "@cf/deepgram/nova-3", sampleRate: 16_000 }, r.events, providerContext(withAi(ai)));
    for (let i = 0; i < 50 && ai.servers.length === 0; i++) await sleep(5);
    ai.servers[0]?.close(1011, "model crashed");
    const errors = await r.until("error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[1]).toMatchObject({ code: "provider.unavailable" });
  });
});
