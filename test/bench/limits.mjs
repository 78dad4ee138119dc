// @ts-check
// Rate-limit probes for leased allowances: latency added by limiting under an injected round trip
// to the org's object and the D1 primary (open-loop load, so slow answers cannot hide), how many
// requests waited on a remote call, the most admitted in a window across simulated isolates, and
// the time from a revocation in one isolate to its refusal in another.
import { Agent, request } from "node:http";
import { SignJWT } from "jose";
import { countBy, percentile } from "./conversation.mjs";

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {{ status: number, headers: import("node:http").IncomingHttpHeaders, body: string }} Answer
 * @param {Agent} agent @param {string} url @param {Record<string, string>} headers
 * @returns {Promise<Answer>}
 */
function get(agent, url, headers, method = "GET", retried = false) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", (/** @type {NodeJS.ErrnoException} */ err) => {
      // A kept-alive socket the server closed while idle, reused in the same instant: the request
      // never reached the server, so it is sent again once (the retry Node's documentation gives).
      if (!retried && req.reusedSocket && err.code === "ECONNRESET") get(agent, url, headers, method, true).then(resolve, reject);
      else reject(err);
    });
    req.end();
  });
}

/** Remote calls the request waited on, from its Server-Timing: a limiter ask, a key read from D1. */
const blockingCalls = (/** @type {Answer} */ a) => {
  const timing = String(a.headers["server-timing"] ?? "");
  return (timing.includes("limit;") && timing.includes('desc="ask"') ? 1 : 0) + (/auth;[^,]*desc="db"/.test(timing) ? 1 : 0);
};

/**
 * Open loop: requests leave at a constant rate whatever the answers do; each latency is counted from
 * when the request was due, so a stall shows up in every request queued behind it.
 * @param {{ url: string, headers: Record<string, string>, rate: number, seconds: number, headersFor?: (i: number) => Record<string, string> }} o
 */
export async function openLoop({ url, headers, rate, seconds, headersFor }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const start = performance.now();
  /** @type {Promise<{ latency: number, answer: Answer } | { error: string }>[]} */
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      get(agent, url, { ...headers, ...(headersFor?.(i) ?? {}) }).then(
        (answer) => ({ latency: performance.now() - due, answer }),
        // A connection reset while later requests are still being sent would be an unhandled
        // rejection that ends the whole run (it did once, 12 minutes in): it is counted instead,
        // and the summary shows it.
        (/** @type {NodeJS.ErrnoException} */ err) => ({ error: err.code ?? String(err) }),
      ),
    );
  }
  const settled = await Promise.all(pending);
  agent.destroy();
  const results = settled.filter((r) => "answer" in r);
  const failed = countBy(settled.flatMap((r) => ("error" in r ? [r.error] : [])));
  const latencies = results.map((r) => r.latency).sort((a, b) => a - b);
  return {
    /** Requests sent; `n` of them were answered. */
    sent: total,
    n: results.length,
    /** Requests that got no answer at all, by error code (answered ones count under `statuses`). */
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    statuses: countBy(results.map((r) => r.answer.status)),
    zeroBlocking: results.filter((r) => blockingCalls(r.answer) === 0).length / results.length,
    blocked: results.filter((r) => blockingCalls(r.answer) > 0).length,
    /** Rate-limit windows the run spanned (a full minute spans two: one boundary). */
    windows: new Set(results.map((r) => r.answer.headers["x-ratelimit-reset"]).filter(Boolean)).size,
    answers: results.map((r) => r.answer),
  };
}

/**
 * The authenticated avatar route at each injected round trip, limiter on (api_d<ms>) against off
 * (off_d<ms>), warm (a warm-up second first), open loop. A full run lasts a minute, so it always
 * spans exactly one window boundary, where each isolate waits about one round trip for the next
 * window's lease: a shorter sample would show that cost or not depending on the clock.
 * @param {{ urls: Record<string, string>, headers: Record<string, string>, delays: number[], rate: number, seconds: number }} o
 */
export async function addedLatency({ urls, headers, delays, rate, seconds }) {
  const rows = [];
  for (const ms of delays) {
    const path = "/v1/avatars/av_demo";
    const on = `${urls[`api_d${ms}`]}${path}`;
    const off = `${urls[`off_d${ms}`]}${path}`;
    await openLoop({ url: on, headers, rate, seconds: 1 });
    await openLoop({ url: off, headers, rate, seconds: 1 });
    const withLimiter = await openLoop({ url: on, headers, rate, seconds });
    const without = await openLoop({ url: off, headers, rate, seconds });
    rows.push({
      injected_ms: ms,
      with: {
        p50: withLimiter.p50,
        p99: withLimiter.p99,
        statuses: withLimiter.statuses,
        zero_blocking: withLimiter.zeroBlocking,
        blocked: withLimiter.blocked,
        n: withLimiter.n,
        windows: withLimiter.windows,
        failed: withLimiter.failed,
      },
      without: { p50: without.p50, p99: without.p99, statuses: without.statuses, failed: without.failed },
      added_p50: withLimiter.p50 - without.p50,
      added_p99: withLimiter.p99 - without.p99,
    });
  }
  return rows;
}

/**
 * The most admitted per window for an org with a small limit: eight simulated isolates offering
 * twice the limit within the run.
 * @param {{ url: string, key: string, limit: number, seconds: number }} o
 */
export async function mostPerWindow({ url, key, limit, seconds }) {
  const rate = (2 * limit) / seconds;
  const r = await openLoop({
    url: `${url}/v1/avatars/av_demo`,
    headers: { Authorization: `Bearer ${key}` },
    rate,
    seconds,
    headersFor: (i) => ({ "X-Sim-Holder": `iso${i % 8}` }),
  });
  /** @type {Record<string, number>} */
  const perWindow = {};
  for (const a of r.answers) {
    if (a.status !== 200) continue;
    const reset = String(a.headers["x-ratelimit-reset"]);
    perWindow[reset] = (perWindow[reset] ?? 0) + 1;
  }
  const admitted = Object.values(perWindow);
  return { limit, offered: r.sent, windows: admitted.length, most: Math.max(0, ...admitted), statuses: r.statuses };
}

/**
 * A key created and warmed in one isolate (api_d0), revoked through another (api): how long until
 * the first isolate refuses it, with requests flowing every 50 ms.
 * @param {{ revokeUrl: string, useUrl: string, orgId: string, jwtSecret: string }} o
 */
export async function revokeToRefusal({ revokeUrl, useUrl, orgId, jwtSecret }) {
  const agent = new Agent({ keepAlive: true });
  const jwt = await new SignJWT({ sub: "bench", org_id: orgId })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(jwtSecret));
  const created = await fetch(`${revokeUrl}/v1/api-keys`, {
    method: "POST",
    headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "revocation probe", mode: "test" }),
  }).then((r) => /** @type {Promise<{ id: string, secret: string }>} */ (r.json()));
  const use = () => get(agent, `${useUrl}/v1/avatars/av_demo`, { Authorization: `Bearer ${created.secret}` });
  for (let i = 0; i < 20; i++) {
    if ((await use()).status !== 200) throw new Error("the new key was not admitted");
    await sleep(50);
  }
  const revokedAt = performance.now();
  const res = await fetch(`${revokeUrl}/v1/api-keys/${created.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${jwt}` } });
  if (res.status !== 200) throw new Error(`revoke answered ${res.status}`);
  let lastAccepted = revokedAt;
  for (;;) {
    const a = await use();
    if (a.status === 200) lastAccepted = performance.now();
    else if (a.status === 401) break;
    if (performance.now() - revokedAt > 60_000) throw new Error("still accepted after 60 s");
    await sleep(50);
  }
  agent.destroy();
  return { refused_after_ms: performance.now() - revokedAt, last_accepted_after_ms: lastAccepted - revokedAt };
}
