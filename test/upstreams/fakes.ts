import { vi } from "vitest";
import { mockVoice, synthesize } from "../../src/providers/tts/mock-speech";
import { connect, createConversation, type Socket } from "../helpers/ws";

/**
 * Fake OpenAI and Deepgram for the conversation pipeline: outbound fetch is intercepted (the
 * Worker and its Durable Objects run in the test's isolate), and every call records whether the
 * pipeline aborted it. The project's settings point the providers at these hosts (vitest.config.ts).
 */

export const LLM_HOST = "fake-openai.test";
export const TTS_HOST = "fake-deepgram.test";
/** A Deepgram voice: it gives no timings, so what was said is counted by sentence. */
export const DEEPGRAM_VOICE = "deepgram:aura-2-thalia-en";

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Call {
  url: string;
  body: Record<string, unknown>;
  signal: AbortSignal | undefined;
  /** The request's signal was aborted, or its body stream was cancelled. */
  aborted: () => boolean;
  /** Parts (LLM deltas, audio chunks) sent so far. */
  sent: () => number;
  finished: () => boolean;
  startedAt: number;
  finishedAt: () => number | null;
}

export interface LlmScript {
  /** The reply's deltas, in order. */
  parts: string[];
  /** Pause before each part after the first. */
  gapMs?: number;
  /** Fail after this many parts: the connection drops mid-stream. */
  dropAfter?: number;
  /** Answer this status with an error body instead of a stream. */
  status?: number;
  /** The error body sent with `status` (OpenAI's shape); a generic server error by default. */
  errorBody?: unknown;
  /** Never answer at all (a stalled upstream). */
  stall?: boolean;
}

export interface TtsScript {
  /** Audio per character of text, in 24 kHz PCM16 bytes (10 ms a character by default). */
  bytesPerChar?: number;
  chunkBytes?: number;
  gapMs?: number;
  status?: number;
  /** The error body sent with `status` (Deepgram's shape); a generic one by default. */
  errorBody?: unknown;
  /** Speech-like audio (the mock voice saying the text, without its timings) instead of a ramp. */
  speech?: boolean;
}

interface Streamed {
  body: ReadableStream<Uint8Array>;
  call: Omit<Call, "url" | "body" | "signal" | "startedAt">;
}

/** A body written piece by piece; aborting `signal` errors it, as a real fetch body would. */
function streamed(pieces: Uint8Array[], opts: { gapMs?: number; dropAfter?: number; signal?: AbortSignal | undefined }): Streamed {
  let sent = 0;
  let cancelled = false;
  let finished = false;
  let finishedAt: number | null = null;
  let aborted = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Flags only: the signal belongs to the object that made the request, and a test may not
      // touch another object's I/O (after a restart, say).
      opts.signal?.addEventListener("abort", () => {
        aborted = true;
        cancelled = true;
        try {
          controller.error(opts.signal?.reason);
        } catch {
          // Already closed.
        }
      });
      void (async () => {
        for (const piece of pieces) {
          if (sent > 0 && opts.gapMs) await sleep(opts.gapMs);
          if (cancelled) return;
          if (opts.dropAfter !== undefined && sent >= opts.dropAfter) {
            // A later pull sees the error, after what was enqueued has been read.
            await sleep(5);
            controller.error(new TypeError("Network connection lost."));
            return;
          }
          controller.enqueue(piece);
          sent++;
        }
        if (cancelled) return;
        finished = true;
        finishedAt = Date.now();
        controller.close();
      })();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, call: { aborted: () => cancelled || aborted, sent: () => sent, finished: () => finished, finishedAt: () => finishedAt } };
}

function llmFrames(parts: string[]): Uint8Array[] {
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
  const frame = (payload: unknown) => encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
  return [
    ...parts.map((content) => frame({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
    encoder.encode(
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: parts.length, total_tokens: 9 + parts.length } })}\n\ndata: [DONE]\n\n`,
    ),
  ];
}

/** The mock voice's PCM for `text` (24 kHz), as a voice without timings would send it. */
function spoken(text: string): Uint8Array {
  const voice = mockVoice("warm");
  if (!voice) throw new Error("no mock voice");
  const parts = [...synthesize(text, voice)].map((c) => new Uint8Array(c.pcm.buffer, c.pcm.byteOffset, c.pcm.byteLength));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Audio that is not silence, so nothing downstream mistakes it for padding. */
function pcm(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes - (bytes % 2));
  for (let i = 0; i < out.length; i += 2) out[i] = (i / 2) % 251;
  return out;
}

export interface Fakes {
  llm: Call[];
  tts: Call[];
  /** Replaces the LLM's script for the calls that follow. */
  setLlm(script: LlmScript): void;
  setTts(script: TtsScript): void;
}

export function installFakes(llm: LlmScript, tts: TtsScript = {}): Fakes {
  let llmScript = llm;
  let ttsScript = tts;
  const fakes: Fakes = {
    llm: [],
    tts: [],
    setLlm: (s) => {
      llmScript = s;
    },
    setTts: (s) => {
      ttsScript = s;
    },
  };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = JSON.parse(await request.text()) as Record<string, unknown>;
    const signal = init?.signal ?? undefined;
    const startedAt = Date.now();
    if (url.hostname === LLM_HOST) {
      const script = llmScript;
      if (script.stall) {
        let aborted = false;
        fakes.llm.push({ url: request.url, body, signal, startedAt, aborted: () => aborted, sent: () => 0, finished: () => false, finishedAt: () => null });
        return new Promise<Response>((_, reject) =>
          signal?.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          }),
        );
      }
      if (script.status) {
        fakes.llm.push({ url: request.url, body, signal, startedAt, aborted: () => false, sent: () => 0, finished: () => true, finishedAt: () => startedAt });
        return Response.json(script.errorBody ?? { error: { message: "The server had an error", type: "server_error" } }, { status: script.status });
      }
      const s = streamed(llmFrames(script.parts), { gapMs: script.gapMs, dropAfter: script.dropAfter, signal });
      fakes.llm.push(Object.assign(s.call, { url: request.url, body, signal, startedAt }));
      return new Response(s.body, { headers: { "Content-Type": "text/event-stream" } });
    }
    if (url.hostname === TTS_HOST) {
      const script = ttsScript;
      const text = String(body.text ?? "");
      if (script.status) {
        fakes.tts.push({ url: request.url, body, signal, startedAt, aborted: () => false, sent: () => 0, finished: () => true, finishedAt: () => startedAt });
        return Response.json(script.errorBody ?? { err_code: "INTERNAL", err_msg: "boom" }, { status: script.status });
      }
      const total = script.speech ? spoken(text) : pcm(Math.max(2, [...text].length * (script.bytesPerChar ?? 480)));
      const size = script.chunkBytes ?? 4800;
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < total.length; at += size) pieces.push(total.slice(at, at + size));
      const s = streamed(pieces, { gapMs: script.gapMs, signal });
      fakes.tts.push(Object.assign(s.call, { url: request.url, body, signal, startedAt }));
      return new Response(s.body, { headers: { "Content-Type": "application/octet-stream", "dg-request-id": "fake" } });
    }
    throw new Error(`unexpected fetch to ${request.url}`);
  });
  return fakes;
}

/** `n` sentences of the same length, one delta per sentence (with its leading space). */
export const sentences = (n: number) => Array.from({ length: n }, (_, i) => `${i === 0 ? "" : " "}This is sentence number ${i + 1} of the reply.`);

/** The fake model, as a conversation names it. */
export const MODEL = "openai:gpt-4o-mini";

const opened: Socket[] = [];

/** A conversation on the fake model (unless `body` says otherwise), with a socket past `session.ready`. */
export async function talk(body: Record<string, unknown> = {}) {
  const conv = await createConversation({ model: MODEL, ...body });
  const socket = await connect(conv.id);
  opened.push(socket);
  await socket.next("session.ready");
  return { conv, socket };
}

/** Closes every socket `talk` opened (for afterEach). */
export function closeTalks(): void {
  for (const s of opened.splice(0)) s.close();
}
