// @ts-check
// Voice input over real WebSockets (the `ws` client), mock providers only: the user's speech is the
// mock voice's own (from POST /v1/tts at 16 kHz, which the mock speech-to-text reads back), sent in
// 20 ms binary frames on a real-time schedule, as a microphone would.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { createConversation, echoRoundTrip, now, percentile, socketUrl } from "./conversation.mjs";

const RATE = 16_000;
const FRAME_SAMPLES = 320;
const FRAME_MS = 20;
/** The conversation defaults (src/db/voice-input.ts). */
const THRESHOLD = 0.02;
const SILENCE_MS = 600;
const MIN_INTERRUPT_MS = 400;
/** The mock model answers this with one word at once: the turn's own time is the pipeline's. */
const ONE_WORD = "Reply with one word.";
const STORY = Array.from({ length: 6 }, (_, i) => `This is line number ${i + 1} of a story that is long enough to take a while.`).join(" ");

const median = (/** @type {number[]} */ xs) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `text` in the mock voice at 16 kHz, as the API makes it.
 * @param {string} apiUrl @param {Record<string, string>} headers @param {string} text
 */
async function speechOf(apiUrl, headers, text) {
  const res = await fetch(`${apiUrl}/v1/tts`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ text, format: "pcm_16000" }),
  });
  if (res.status !== 200) throw new Error(`tts: ${res.status} ${await res.text()}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}

/** @param {Int16Array} audio */
function framesOf(audio) {
  /** @type {Int16Array[]} */
  const frames = [];
  for (let at = 0; at < audio.length; at += FRAME_SAMPLES) {
    const frame = new Int16Array(FRAME_SAMPLES);
    frame.set(audio.subarray(at, at + FRAME_SAMPLES));
    frames.push(frame);
  }
  return frames;
}

/** Whether a frame holds voice as the server's VAD sees it (any 10 ms window above the threshold). @param {Int16Array} frame */
function voiced(frame) {
  for (let w = 0; w < frame.length; w += 160) {
    let sum = 0;
    for (let i = w; i < w + 160; i++) sum += ((frame[i] ?? 0) / 32768) ** 2;
    if (Math.sqrt(sum / 160) > THRESHOLD) return true;
  }
  return false;
}

/** A socket whose events go to `onEvent`. */
class Mic {
  /** @param {WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    /** @type {(event: any) => void} */
    this.onEvent = () => {};
    ws.on("message", (data) => this.onEvent(JSON.parse(String(data))));
  }

  /** @param {string} apiUrl @param {Record<string, string>} headers @param {Record<string, unknown>} [fields] */
  static async open(apiUrl, headers, fields = {}) {
    const conv = await createConversation(apiUrl, headers, { model: "mock:echo", ...fields });
    const mic = new Mic(new WebSocket(socketUrl(conv, apiUrl), { headers }));
    await new Promise((resolve, reject) => {
      mic.onEvent = (e) => e.type === "session.ready" && resolve(undefined);
      mic.ws.once("error", reject);
    });
    return mic;
  }

  /**
   * Sends `frames` one every 20 ms of the client's clock (real time), calling `sent(i, at)` after each.
   * @param {Int16Array[]} frames @param {(i: number, at: number) => void} [sent] @param {() => boolean} [stop]
   */
  async stream(frames, sent = () => {}, stop = () => false) {
    const start = now();
    for (let i = 0; i < frames.length && !stop(); i++) {
      const frame = /** @type {Int16Array} */ (frames[i]);
      this.ws.send(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      sent(i, now());
      const wait = start + (i + 1) * FRAME_MS - now();
      if (wait > 0) await sleep(wait);
    }
  }

  close() {
    this.ws.close(1000);
  }
}

/**
 * Voice to voice: the user says a sentence and stops; the server's added latency is the avatar's
 * first audio minus the moment the end of speech became detectable: the send of the frame that
 * completes `silence_ms` of silence after the last voiced frame. Everything in it is the API's own
 * (mock speech-to-text, model and voice), plus one frame in and one out, which `echo` measures alone.
 * @param {{ apiUrl: string, echoUrl: string, headers: Record<string, string>, turns: number }} opts
 */
export async function voiceToVoice({ apiUrl, echoUrl, headers, turns }) {
  const frames = framesOf(new Int16Array([...(await speechOf(apiUrl, headers, ONE_WORD)), ...new Int16Array((RATE * (SILENCE_MS + 400)) / 1000)]));
  let lastVoiced = -1;
  frames.forEach((f, i) => {
    if (voiced(f)) lastVoiced = i;
  });
  const detectable = lastVoiced + SILENCE_MS / FRAME_MS;
  const mic = await Mic.open(apiUrl, headers);
  /** @type {{ added: number, metrics: any }[]} */
  const runs = [];
  try {
    for (let t = 0; t < turns + 2; t++) {
      let detectableAt = NaN;
      /** @type {number | undefined} */
      let firstAudioAt;
      /** @type {any} */
      let metrics;
      const done = new Promise((resolve, reject) => {
        mic.onEvent = (e) => {
          if (e.type === "avatar.audio.delta" && firstAudioAt === undefined) firstAudioAt = now();
          else if (e.type === "error") reject(new Error(`${e.code}: ${e.message}`));
          else if (e.type === "metrics.turn") {
            metrics = e;
            resolve(undefined);
          }
        };
      });
      await mic.stream(frames, (i, at) => {
        if (i === detectable) detectableAt = at;
      });
      await done;
      if (firstAudioAt === undefined) throw new Error("a voice turn without audio");
      // The first two warm the object and its code up.
      if (t >= 2) runs.push({ added: firstAudioAt - detectableAt, metrics });
      await sleep(300);
    }
  } finally {
    mic.close();
  }
  const echo = await echoRoundTrip(echoUrl, 200);
  const added = runs.map((r) => r.added).sort((a, b) => a - b);
  return {
    turns: runs.length,
    utterance: { text: ONE_WORD, frames: frames.length, last_voiced_frame: lastVoiced, silence_ms: SILENCE_MS },
    added_ms: { p50: percentile(added, 50), p99: percentile(added, 99) },
    echo_round_trip_ms: echo,
    added_net_ms: { p50: percentile(added, 50) - echo.p50 },
    server_metrics_ms: {
      stt_final_p50: median(runs.map((r) => r.metrics.stt_final_ms)),
      voice_to_voice_p50: median(runs.map((r) => r.metrics.voice_to_voice_ms)),
      first_audio_p50: median(runs.map((r) => r.metrics.first_audio_ms)),
    },
  };
}

/**
 * Barge-in: while the avatar speaks, the user says "Stop right there."; the latency is from the send
 * of the first voiced frame to `avatar.interrupted` (goal: `min_interrupt_ms` + 30 ms).
 * @param {{ apiUrl: string, headers: Record<string, string>, trials: number }} opts
 */
export async function bargeIn({ apiUrl, headers, trials }) {
  const frames = framesOf(new Int16Array([...(await speechOf(apiUrl, headers, "Stop right there.")), ...new Int16Array((RATE * (SILENCE_MS + 200)) / 1000)]));
  const firstVoiced = frames.findIndex(voiced);
  /** @type {number[]} */
  const latencies = [];
  for (let t = 0; t < trials; t++) {
    const mic = await Mic.open(apiUrl, headers);
    try {
      let onsetAt = NaN;
      /** @type {number | undefined} */
      let interruptedAt;
      let speaking = /** @type {(v?: unknown) => void} */ (() => {});
      const started = new Promise((r) => {
        speaking = r;
      });
      mic.onEvent = (e) => {
        if (e.type === "avatar.audio.delta") speaking();
        else if (e.type === "avatar.interrupted" && interruptedAt === undefined) interruptedAt = now();
      };
      mic.ws.send(JSON.stringify({ type: "avatar.speak", text: STORY }));
      await started;
      await sleep(300);
      await mic.stream(frames, (i, at) => {
        if (i === firstVoiced) onsetAt = at;
      });
      const deadline = now() + 2000;
      while (interruptedAt === undefined && now() < deadline) await sleep(10);
      if (interruptedAt === undefined) throw new Error("the speech did not interrupt the avatar");
      latencies.push(interruptedAt - onsetAt);
    } finally {
      mic.close();
    }
  }
  latencies.sort((a, b) => a - b);
  return { trials: latencies.length, min_interrupt_ms: MIN_INTERRUPT_MS, latency_ms: { p50: percentile(latencies, 50), max: latencies.at(-1) ?? NaN } };
}

/**
 * CPU time a process has used so far (ms), from /proc; null where there is none.
 * @param {number | undefined} pid
 */
function cpuMs(pid) {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Ingest: 8 sockets of one conversation (its socket limit) each stream speech and silence in real
 * time (50 frames a second each) in push_to_talk, so the VAD, the prefix buffer and the mock
 * speech-to-text's interim reading run on every frame and no turn interferes. workerd's CPU per
 * frame gives the frames a second one object (one thread) can take.
 * @param {{ apiUrl: string, headers: Record<string, string>, seconds: number, workerdPid?: number }} opts
 */
export async function ingest({ apiUrl, headers, seconds, workerdPid }) {
  const speech = await speechOf(apiUrl, headers, "The quick brown fox jumps over the lazy dog.");
  const pattern = framesOf(new Int16Array([...speech, ...new Int16Array(RATE)]));
  const frames = Array.from({ length: Math.ceil((seconds * 1000) / FRAME_MS) }, (_, i) => /** @type {Int16Array} */ (pattern[i % pattern.length]));
  const conv = await createConversation(apiUrl, headers, { model: "mock:echo", turn_detection: { type: "push_to_talk" } });
  const mics = [];
  for (let i = 0; i < 8; i++) {
    const mic = new Mic(new WebSocket(socketUrl(conv, apiUrl), { headers }));
    await new Promise((resolve, reject) => {
      mic.onEvent = (e) => e.type === "session.ready" && resolve(undefined);
      mic.ws.once("error", reject);
    });
    mics.push(mic);
  }
  let errors = 0;
  for (const mic of mics) mic.onEvent = (e) => e.type === "error" && errors++;
  const cpuBefore = cpuMs(workerdPid);
  const started = now();
  await Promise.all(mics.map((mic) => mic.stream(frames)));
  const wall = now() - started;
  // Frames still in flight are processed in the next moment; their CPU counts too.
  await sleep(200);
  const cpuAfter = cpuMs(workerdPid);
  for (const mic of mics) mic.close();
  const sent = frames.length * mics.length;
  const cpuPerFrame = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / sent;
  return {
    sockets: mics.length,
    frames_sent: sent,
    seconds: wall / 1000,
    frames_per_second_sent: sent / (wall / 1000),
    errors,
    workerd_cpu_ms_per_frame: cpuPerFrame,
    frames_per_second_one_core: cpuPerFrame ? 1000 / cpuPerFrame : null,
  };
}
