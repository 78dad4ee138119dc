// @ts-check
// Conversations over real WebSockets (the `ws` client): a fake model streaming a reply word by word
// at a steady pace (test/bench/baselines.mjs, `pace …`) and the built-in mock voice.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { firstChunk } from "./first-chunk.mjs";

/** Five sentences of eight word-tokens, one token every 25 ms: about 40 tokens/s, a fast model. */
export const REPLY = { sentences: 5, words: 8, intervalMs: 25 };
/**
 * When the fake's first sentence can be known to be complete: the token after its full stop (the
 * " Sentence" that starts the next one) is sent at `words * interval` after the request arrives;
 * until then "word." could still be "word.5". The probe measures it as a client calling the fake
 * directly sees it (HTTP included), like the gateway probes' "direct".
 */
export const FIRST_SENTENCE_MS = REPLY.words * REPLY.intervalMs;
const PROMPT = `pace ${REPLY.sentences} ${REPLY.words} ${REPLY.intervalMs}`;
const LLM_MS = (REPLY.sentences * REPLY.words - 1) * REPLY.intervalMs;

export const percentile = (/** @type {number[]} */ sorted, /** @type {number} */ p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
/** How many times each value occurs. */
export const countBy = (/** @type {(string | number)[]} */ values) => {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
};
const median = (/** @type {number[]} */ xs) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Audio sent as fast as it is made (the most lead the API allows). The latency probes measure the
 * API's own latency, and a paced turn's `done` would be real time (its audio's length), so theirs
 * is unpaced and their figures stay comparable with runs from before audio was paced.
 */
export const UNPACED = { audio_lead_ms: 600_000 };

/**
 * A conversation with the mock voice (PCM at 24 kHz) and the fake model; `fields` adds to or
 * overrides the creation body.
 * @param {string} apiUrl
 * @param {Record<string, string>} headers
 * @param {Record<string, unknown>} [fields]
 */
export async function createConversation(apiUrl, headers, fields = {}) {
  const res = await fetch(`${apiUrl}/v1/conversations`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({
      avatar_id: "av_demo",
      model: "openai:gpt-4o-mini",
      voice_id: "mock:warm",
      greeting: null,
      max_duration_s: 3600,
      idle_timeout_s: 600,
      ...fields,
    }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return /** @type {{ id: string, transport: { url: string } }} */ (await res.json());
}

/**
 * The conversation's socket URL on the bench's own address (`query`: e.g. `{ last_seq: "0" }`).
 * @param {{ transport: { url: string } }} conv
 * @param {string} apiUrl
 * @param {Record<string, string>} [query]
 */
export function socketUrl(conv, apiUrl, query = {}) {
  const url = new URL(conv.transport.url.replace(/^wss?:\/\/[^/]+/, apiUrl.replace(/^http/, "ws")));
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}

/**
 * A new conversation (`fields` added to its creation body) and its socket, open past
 * `session.ready`; `listen` sets what hears its events from then on.
 * @param {string} apiUrl
 * @param {Record<string, string>} headers
 * @param {Record<string, unknown>} fields
 */
export async function openConversation(apiUrl, headers, fields) {
  const conv = await createConversation(apiUrl, headers, fields);
  const ws = new WebSocket(socketUrl(conv, apiUrl), { headers });
  /** @type {(event: any) => void} */
  let onEvent = () => {};
  ws.on("message", (data) => onEvent(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    onEvent = (e) => e.type === "session.ready" && resolve(undefined);
    ws.once("error", reject);
  });
  return { ws, listen: (/** @type {(event: any) => void} */ handler) => (onEvent = handler) };
}

/** One open conversation socket that runs turns one after another. */
class Talk {
  /** @param {WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    /** @type {((event: any) => void) | undefined} */
    this.onEvent = undefined;
    ws.on("message", (data) => this.onEvent?.(JSON.parse(String(data))));
  }

  /** @param {string} apiUrl @param {Record<string, string>} headers */
  static async open(apiUrl, headers) {
    const conv = await createConversation(apiUrl, headers, UNPACED);
    const ws = new WebSocket(socketUrl(conv, apiUrl), { headers });
    const talk = new Talk(ws);
    await new Promise((resolve, reject) => {
      talk.onEvent = (e) => e.type === "session.ready" && resolve(undefined);
      ws.once("error", reject);
    });
    return talk;
  }

  /**
   * One turn, timed at the client from the frame sent: `created` is the user's message announced
   * (the frame in, admitted, the model asked, the message stored, an event out); `sentence` is the
   * model's token that completes its first sentence, relayed as `agent.response.delta` (the token
   * after the full stop, as for `FIRST_SENTENCE_MS`).
   * @returns {Promise<{ firstAudio: number, done: number, created: number, sentence: number, ttsFirstByte: number, llmFirstToken: number }>}
   */
  turn() {
    return new Promise((resolve, reject) => {
      const started = now();
      /** @type {number | undefined} */
      let firstAudio;
      /** @type {number | undefined} */
      let done;
      /** @type {number | undefined} */
      let created;
      /** @type {number | undefined} */
      let sentence;
      let text = "";
      this.onEvent = (e) => {
        if (e.type === "avatar.audio.delta" && firstAudio === undefined) firstAudio = now() - started;
        else if (e.type === "message.created" && created === undefined) created = now() - started;
        else if (e.type === "agent.response.delta") {
          if (sentence === undefined && /[.!?]$/.test(text)) sentence = now() - started;
          text += e.delta;
        } else if (e.type === "agent.response.done") done = now() - started;
        else if (e.type === "error") reject(new Error(`turn failed: ${e.code} ${e.message}`));
        else if (e.type === "metrics.turn") {
          if (firstAudio === undefined || done === undefined || created === undefined || sentence === undefined) {
            return reject(new Error("a turn without its message, its sentence or its audio"));
          }
          resolve({ firstAudio, done, created, sentence, ttsFirstByte: e.tts_first_byte_ms, llmFirstToken: e.llm_first_token_ms });
        }
      };
      this.ws.send(JSON.stringify({ type: "input.text", text: PROMPT }));
    });
  }

  close() {
    this.ws.close(1000);
  }
}

/**
 * CPU time a process has used so far (user + system, ms), from /proc; null where there is none.
 * @param {number | undefined} pid
 */
export function cpuMs(pid) {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    // The kernel's clock tick is 100 Hz on every Linux this runs on (USER_HZ).
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}

/**
 * The platform's own cost of a frame in and a frame out: a WebSocket to a bare Durable Object that
 * echoes (baseline (e)), the same client, one small frame at a time.
 * @param {string} url  the echo worker's http URL
 * @param {number} frames
 */
export async function echoRoundTrip(url, frames) {
  const ws = new WebSocket(url.replace(/^http/, "ws"));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const once = () =>
    new Promise((resolve) => {
      const started = now();
      ws.once("message", () => resolve(now() - started));
      ws.send('{"type":"input.text","text":"ping"}');
    });
  for (let i = 0; i < 20; i++) await once();
  /** @type {number[]} */
  const samples = [];
  for (let i = 0; i < frames; i++) samples.push(/** @type {number} */ (await once()));
  ws.close();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/**
 * One conversation, one turn at a time: how early the first audio comes in a reply that takes the
 * model ~1 s to write, and how much the server adds to the model's and the voice's own time.
 * The raw figure includes the platform's frame in and frame out; `echo` measures those alone, and
 * `net` is what is left: the API's own work.
 * @param {{ apiUrl: string, echoUrl: string, llmUrl: string, headers: Record<string, string>, turns: number, workerdPid?: number }} opts
 */
export async function turnLatency({ apiUrl, echoUrl, llmUrl, headers, turns, workerdPid }) {
  const direct = await firstChunk({
    url: `${llmUrl}/v1/chat/completions`,
    body: { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: PROMPT }] },
    match: '"content":" Sentence"',
    requests: turns,
    warmup: 3,
  });
  const talk = await Talk.open(apiUrl, headers);
  try {
    for (let i = 0; i < 3; i++) await talk.turn();
    const runs = [];
    const cpuBefore = cpuMs(workerdPid);
    for (let i = 0; i < turns; i++) runs.push(await talk.turn());
    const cpuAfter = cpuMs(workerdPid);
    const ratios = runs.map((r) => r.firstAudio / r.done);
    const added = runs.map((r) => r.firstAudio - direct.p50 - r.ttsFirstByte);
    const echo = await echoRoundTrip(echoUrl, Math.max(100, turns * 5));
    return {
      echo_round_trip_ms: echo,
      added_net_ms: { p50: median(added) - echo.p50 },
      turns: runs.length,
      reply: { ...REPLY, llm_ms: LLM_MS, first_sentence_scheduled_ms: FIRST_SENTENCE_MS },
      first_sentence_direct_ms: { p50: direct.p50, p99: direct.p99 },
      first_audio_ms: {
        p50: median(runs.map((r) => r.firstAudio)),
        p99: percentile(
          runs.map((r) => r.firstAudio).sort((a, b) => a - b),
          99,
        ),
      },
      done_ms: { p50: median(runs.map((r) => r.done)) },
      tts_first_byte_ms: { p50: median(runs.map((r) => r.ttsFirstByte)) },
      ratio_p50: median(ratios),
      ratio_max: Math.max(...ratios),
      added_ms: {
        p50: median(added),
        p99: percentile(
          [...added].sort((a, b) => a - b),
          99,
        ),
      },
      // Where the added time goes (client clock, p50 each): the frame in until the user's message is
      // announced; the model's first sentence relayed, against calling the model directly; that
      // sentence's token until its first audio.
      stages_ms: {
        frame_to_message_created: median(runs.map((r) => r.created)),
        first_sentence_relayed_minus_direct: median(runs.map((r) => r.sentence)) - direct.p50,
        first_sentence_to_first_audio: median(runs.map((r) => r.firstAudio - r.sentence)),
      },
      // The whole runtime's CPU (every worker, the fake model included) per turn; null off Linux.
      workerd_cpu_ms_per_turn: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / turns,
    };
  } finally {
    talk.close();
  }
}

/**
 * Many conversations at once, each taking a turn every `everyMs` (staggered): the p99 time to first
 * audio at each level, up to the first level where it has doubled against one conversation alone.
 * @param {{ apiUrl: string, headers: Record<string, string>, levels: number[], everyMs: number, windowMs: number }} opts
 */
export async function capacity({ apiUrl, headers, levels, everyMs, windowMs }) {
  /** @type {{ conversations: number, turns: number, p50: number, p99: number, failed: number, why?: Record<string, number> }[]} */
  const results = [];
  for (const n of levels) {
    const talks = [];
    for (let i = 0; i < n; i++) talks.push(await Talk.open(apiUrl, headers));
    /** @type {number[]} */
    const firstAudio = [];
    /** @type {string[]} why each failed turn failed (the error event's code and message) */
    const failures = [];
    const until = now() + windowMs;
    await Promise.all(
      talks.map(async (talk, i) => {
        await new Promise((r) => setTimeout(r, (everyMs * i) / n));
        while (now() < until) {
          const begun = now();
          try {
            firstAudio.push((await talk.turn()).firstAudio);
          } catch (error) {
            failures.push(error instanceof Error ? error.message : String(error));
          }
          const rest = everyMs - (now() - begun);
          if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        }
      }),
    );
    for (const talk of talks) talk.close();
    firstAudio.sort((a, b) => a - b);
    const row = {
      conversations: n,
      turns: firstAudio.length,
      p50: percentile(firstAudio, 50),
      p99: percentile(firstAudio, 99),
      failed: failures.length,
      ...(failures.length > 0 ? { why: countBy(failures) } : {}),
    };
    results.push(row);
    const base = results[0];
    if (base && row.p99 > 2 * base.p99) break;
  }
  const base = results[0];
  const held = results.filter((r) => base && r.p99 <= 2 * base.p99 && r.failed === 0);
  return { every_ms: everyMs, window_ms: windowMs, levels: results, held: held.at(-1)?.conversations ?? 0 };
}
