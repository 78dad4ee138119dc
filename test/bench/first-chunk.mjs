// @ts-check
// Time to the first streamed content: from sending a request to the moment its body contains
// `match`, over a kept-alive connection, one request at a time (pure latency, no queueing).
import { Agent, request } from "node:http";

const percentile = (/** @type {number[]} */ sorted, /** @type {number} */ p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * @param {{ url: string, body: unknown, headers?: Record<string, string>, match: string, requests: number, warmup?: number }} opts
 * @returns {Promise<{ p50: number, p99: number, mean: number, samples: number }>}
 */
export async function firstChunk({ url, body, headers = {}, match, requests, warmup = 20 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  const payload = JSON.stringify(body);
  // Resolves when the whole body has arrived (so the next request finds the connection free), with
  // the time at which `match` first appeared.
  /** @returns {Promise<number>} */
  const once = () =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      let seen = "";
      /** @type {number | undefined} */
      let at;
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { "Content-Type": "application/json", ...headers } },
        (res) => {
          res.setEncoding("utf8");
          res.on("data", (/** @type {string} */ chunk) => {
            if (at !== undefined) return;
            seen += chunk;
            if (seen.includes(match)) at = Number(process.hrtime.bigint() - started) / 1e6;
          });
          res.on("end", () => (at === undefined ? reject(new Error(`${url}: the body never contained ${match}: ${seen.slice(0, 300)}`)) : resolve(at)));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  for (let i = 0; i < warmup; i++) await once();
  const samples = [];
  for (let i = 0; i < requests; i++) samples.push(await once());
  agent.destroy();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length, samples: samples.length };
}
