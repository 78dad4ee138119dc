// Drives one target with autocannon for a fixed time and measures latency from autocannon's own
// per-response timings (its histograms round to whole milliseconds, too coarse for sub-ms routes).
import autocannon from "autocannon";

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

/**
 * @param {{ url: string, connections: number, seconds: number, headers?: Record<string, string>, method?: string, body?: string }} opts
 * @returns {Promise<{ rps: number, p50: number, p99: number, requests: number, non2xx: number, errors: number }>}
 */
export function load({ url, connections, seconds, headers = {}, method = "GET", body }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    let non2xx = 0;
    const instance = autocannon({ url, connections, duration: seconds, headers, method, body, pipelining: 1 }, (err, result) => {
      if (err) return reject(err);
      latencies.sort((a, b) => a - b);
      resolve({
        rps: result.requests.total / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        requests: result.requests.total,
        non2xx,
        errors: result.errors + result.timeouts,
      });
    });
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else non2xx += 1;
    });
  });
}
