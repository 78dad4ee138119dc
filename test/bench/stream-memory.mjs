// @ts-check
// How much memory a process gains while a response of a given size streams through it: its
// resident set sampled every few milliseconds from /proc while the body is read and thrown away.
import { readFileSync } from "node:fs";
import { request } from "node:http";

/** Resident set size of `pid` in MiB, from /proc (Linux). */
const rssMiB = (/** @type {number} */ pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
};

/**
 * @param {{ pid: number, url: string, body: unknown, headers?: Record<string, string> }} opts
 * @returns {Promise<{ bytes: number, seconds: number, baseline_mib: number, peak_mib: number, grew_mib: number }>}
 */
export function streamedMemory({ pid, url, body, headers = {} }) {
  const target = new URL(url);
  const baseline = rssMiB(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 5);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { "Content-Type": "application/json", ...headers } },
      (res) => {
        let bytes = 0;
        res.on("data", (/** @type {Buffer} */ chunk) => (bytes += chunk.length));
        res.on("end", () => {
          clearInterval(sampler);
          peak = Math.max(peak, rssMiB(pid));
          if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
          resolve({ bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, baseline_mib: baseline, peak_mib: peak, grew_mib: peak - baseline });
        });
      },
    );
    req.on("error", (err) => {
      clearInterval(sampler);
      reject(err);
    });
    req.end(JSON.stringify(body));
  });
}
