// @ts-check
// Replays against live listeners: a conversation whose event log holds ≥ 20 MiB (every audio frame
// is logged, as base64), three sockets resuming it from the start at once, and live listeners of the
// same conversation timing how long the object takes to answer them meanwhile.
//
// The listeners time a `session.keep_alive` with an `event_id` (the exact frame without one is
// answered by the runtime itself, without the object, and would measure nothing). A socket may send
// 20 frames a second, so each listener sends its next keep-alive when the last one has been answered
// and at least 55 ms after it (never more than 19 in any second, whatever the server's delays); four
// listeners, staggered, sample the object every ~14 ms. They run in a worker thread of their own, so
// that the bench process reading ~60 MiB of replay does not delay their timings.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import WebSocket from "ws";
import { createConversation, now, percentile, socketUrl, UNPACED } from "./conversation.mjs";

/** A keep-alive at most every this many ms per listener socket (the limit is 20 frames a second). */
const SPACING_MS = 55;
/** A keep-alive unanswered this long is counted as lost (none should be). */
const ACK_TIMEOUT_MS = 10_000;
const MiB = 2 ** 20;
/** The longest `avatar.speak` (MAX_TEXT_CHARS): about five and a half minutes of mock speech. */
const SPEECH = (() => {
  const sentences = [
    "The lighthouse keeper climbed the spiral stairs again, counting each of the hundred and twelve steps.",
    "Far below, the tide pulled at the rocks and the gulls argued over the last of the light.",
    "She wound the great clock, trimmed the wick, and wrote the weather in the log in small, careful letters.",
  ];
  let text = "";
  for (let i = 0; text.length < 4000; i++) text += `${sentences[i % sentences.length]} `;
  return text.slice(0, 4000).trimEnd();
})();

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens a socket and resolves with it and its `session.ready` once that has arrived.
 * @param {string} url
 * @param {Record<string, string>} headers
 * @returns {Promise<{ ws: WebSocket, ready: any }>}
 */
function join(url, headers) {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once("message", (data) => {
      const ready = JSON.parse(String(data));
      if (ready.type === "session.ready") resolve({ ws, ready });
      else reject(new Error(`expected session.ready, got ${String(data).slice(0, 200)}`));
    });
    ws.once("error", reject);
  });
}

/** @param {WebSocket} ws */
const closed = (ws) =>
  new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(undefined);
    ws.once("close", resolve);
    ws.close(1000);
  });

/**
 * Fills the conversation's log with `avatar.speak` turns until its logged events hold `bytes`.
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {number} bytes
 */
async function fillLog(url, headers, bytes) {
  const { ws } = await join(url, headers);
  let logged = 0;
  let events = 0;
  let turns = 0;
  try {
    while (logged < bytes) {
      await new Promise((resolve, reject) => {
        /** @param {WebSocket.RawData} data */
        const onMessage = (data) => {
          const text = String(data);
          const event = JSON.parse(text);
          if (event.seq !== undefined) {
            logged += text.length;
            events += 1;
          }
          if (event.type === "error") reject(new Error(`speak failed: ${event.code} ${event.message}`));
          else if (event.type === "metrics.turn") {
            ws.off("message", onMessage);
            resolve(undefined);
          }
        };
        ws.on("message", onMessage);
        ws.send(JSON.stringify({ type: "avatar.speak", event_id: `fill${turns}`, text: SPEECH }));
      });
      turns += 1;
    }
  } finally {
    await closed(ws);
  }
  return { bytes: logged, events, turns };
}

/**
 * One socket resuming from `last_seq=0`: the time from opening it to its `session.ready`, and to the
 * last event of its replay. Replayed events are counted, not parsed (but the last one, whose seq
 * must be the log's last), so the bench process's own reading stays small.
 * @param {string} url
 * @param {Record<string, string>} headers
 */
async function resume(url, headers) {
  const opened = now();
  const ws = new WebSocket(url, { headers });
  try {
    return await new Promise((resolve, reject) => {
      /** @type {{ last_seq: number, replay: { events: number } } | undefined} */
      let ready;
      let readyMs = 0;
      let received = 0;
      let bytes = 0;
      ws.on("message", (data) => {
        const text = String(data);
        if (!ready) {
          ready = JSON.parse(text);
          readyMs = now() - opened;
          if (ready?.replay?.events === undefined) reject(new Error(`expected session.ready with a replay, got ${text.slice(0, 200)}`));
          return;
        }
        received += 1;
        bytes += text.length;
        if (received < ready.replay.events) return;
        const last = JSON.parse(text);
        if (last.seq !== ready.last_seq) reject(new Error(`the replay ended at seq ${last.seq}, not ${ready.last_seq}`));
        resolve({ ready_ms: readyMs, replay_ms: now() - opened, events: received, mib: bytes / MiB });
      });
      ws.once("error", reject);
      ws.once("close", (code) => reject(new Error(`closed (${code}) after ${received} of ${ready?.replay.events} replayed events`)));
    });
  } finally {
    await closed(ws);
  }
}

/**
 * The worker thread's side: `sockets` listeners of the conversation, each timing keep-alives until
 * told to stop; it posts `[sent at, wait]` pairs (ms, `now()`'s clock, which is the process's).
 * @param {{ url: string, headers: Record<string, string>, sockets: number }} opts
 */
async function listen({ url, headers, sockets }) {
  const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
  const joined = await Promise.all(Array.from({ length: sockets }, () => join(url, headers)));
  /** @type {[number, number][]} */
  const samples = [];
  let stopping = false;
  let errors = 0;
  let lost = 0;
  port.once("message", () => {
    stopping = true;
  });
  port.postMessage({ type: "ready" });
  await Promise.all(
    joined.map(async ({ ws }, i) => {
      /** @type {Map<string, (at: number) => void>} */
      const pending = new Map();
      ws.on("message", (data) => {
        const at = now();
        const event = JSON.parse(String(data));
        if (event.type === "error") errors += 1;
        const answered = event.reply_to === undefined ? undefined : pending.get(event.reply_to);
        if (answered) {
          pending.delete(event.reply_to);
          answered(at);
        }
      });
      await sleep((SPACING_MS * i) / sockets);
      for (let n = 0; !stopping; n++) {
        const id = `k${i}.${n}`;
        const sent = now();
        /** @type {Promise<number | undefined>} */
        const answered = new Promise((resolve) => pending.set(id, resolve));
        ws.send(JSON.stringify({ type: "session.keep_alive", event_id: id }));
        const at = await Promise.race([answered, sleep(ACK_TIMEOUT_MS)]);
        if (at === undefined) lost += 1;
        else samples.push([sent, at - sent]);
        const rest = SPACING_MS - (now() - sent);
        if (rest > 0) await sleep(rest);
      }
      await closed(ws);
    }),
  );
  port.postMessage({ type: "samples", samples, errors, lost });
}

if (!isMainThread && workerData?.role === "replay-listener") await listen(workerData);

/** @param {number[]} waits */
const stats = (waits) => {
  const sorted = [...waits].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
};

/**
 * @param {{ apiUrl: string, headers: Record<string, string>, logMiB?: number, resumers?: number, listeners?: number, rounds?: number, baselineMs?: number }} opts
 */
export async function replayStall({ apiUrl, headers, logMiB = 20, resumers = 3, listeners = 4, rounds = 3, baselineMs = 3000 }) {
  const conv = await createConversation(apiUrl, headers, UNPACED);
  const url = socketUrl(conv, apiUrl);
  const log = await fillLog(url, headers, logMiB * MiB);

  const worker = new Worker(new URL(import.meta.url), { workerData: { role: "replay-listener", url, headers, sockets: listeners } });
  /** @type {Promise<{ samples: [number, number][], errors: number, lost: number }>} */
  const finished = new Promise((resolve, reject) => {
    worker.on("message", (m) => m.type === "samples" && resolve(m));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the listeners' thread exited (${code})`)));
  });
  await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });

  /** @type {{ baseline: [number, number], replay: [number, number], resumers: any[] }[]} */
  const windows = [];
  try {
    for (let round = 0; round < rounds; round++) {
      await sleep(500);
      const baseline = /** @type {[number, number]} */ ([now(), now() + baselineMs]);
      await sleep(baselineMs);
      const started = now();
      const resumed = await Promise.all(Array.from({ length: resumers }, () => resume(socketUrl(conv, apiUrl, { last_seq: "0" }), headers)));
      windows.push({ baseline, replay: [started, started + Math.max(...resumed.map((r) => r.replay_ms))], resumers: resumed });
    }
    await sleep(300);
  } finally {
    worker.postMessage("stop");
  }
  const { samples, errors, lost } = await finished;
  await worker.terminate();
  await fetch(`${apiUrl}/v1/conversations/${conv.id}/end`, { method: "POST", headers });

  const runs = windows.map((w) => ({
    baseline: stats(samples.filter(([sent, wait]) => sent >= w.baseline[0] && sent + wait <= w.baseline[1]).map(([, wait]) => wait)),
    // Every keep-alive outstanding at some point of the replay (sent during it, or before and
    // answered during it).
    replay: stats(samples.filter(([sent, wait]) => sent <= w.replay[1] && sent + wait >= w.replay[0]).map(([, wait]) => wait)),
    replay_ms: w.replay[1] - w.replay[0],
    resumers: w.resumers,
  }));
  const worstOf = (/** @type {(r: (typeof runs)[number]) => number} */ pick) => Math.max(...runs.map(pick));
  return {
    log: { mib: log.bytes / MiB, events: log.events, turns: log.turns },
    listeners,
    keep_alive_spacing_ms: SPACING_MS,
    listener_errors: errors,
    unanswered_keep_alives: lost,
    runs,
    worst_replay_wait_ms: worstOf((r) => r.replay.max),
    worst_replay_p99_ms: worstOf((r) => r.replay.p99),
    worst_baseline_wait_ms: worstOf((r) => r.baseline.max),
  };
}
