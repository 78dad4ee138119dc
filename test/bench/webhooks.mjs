// @ts-check
// Webhook probes: a receiver on a loopback port of this process (answering 200 at once), endpoints
// pointed at it (the bench runtime allows http: receivers), and events caused through the API.
import { createServer } from "node:http";

const percentile = (/** @type {number[]} */ sorted, /** @type {number} */ p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** A receiver that calls `onEvent` with each delivered event and the time it arrived. */
async function startReceiver(/** @type {(event: any, at: number) => void} */ onEvent) {
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const at = performance.now();
      res.writeHead(200).end("ok");
      onEvent(JSON.parse(body), at);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}/hook`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** `promise`, or a rejection after `ms`; the timer never outlives the answer (it would keep Node running). */
async function withTimeout(/** @type {Promise<any>} */ promise, /** @type {number} */ ms, /** @type {() => string} */ message) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  try {
    return await Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function call(
  /** @type {string} */ url,
  /** @type {Record<string, string>} */ headers,
  /** @type {string} */ method = "GET",
  /** @type {unknown} */ body = undefined,
) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Time from an event's cause to its receiver's 2xx: `POST /v1/conversations/{id}/end`, one at a time,
 * until `conversation.ended` for that conversation reaches the receiver.
 * @param {{ apiUrl: string, headers: Record<string, string>, n: number }} opts
 */
export async function endToReceiver({ apiUrl, headers, n }) {
  /** @type {Map<string, (at: number) => void>} */
  const waiting = new Map();
  const receiver = await startReceiver((event, at) => waiting.get(event.data?.conversation?.id)?.(at));
  const endpoint = await call(`${apiUrl}/v1/webhook-endpoints`, headers, "POST", { url: receiver.url, enabled_events: ["conversation.ended"] });
  try {
    /** @type {number[]} */
    const samples = [];
    for (let i = 0; i < n + 3; i++) {
      const conversation = await call(`${apiUrl}/v1/conversations`, headers, "POST", { avatar_id: "av_demo" });
      const arrived = new Promise((resolve) => waiting.set(conversation.id, resolve));
      const started = performance.now();
      await call(`${apiUrl}/v1/conversations/${conversation.id}/end`, headers, "POST");
      const at = /** @type {number} */ (await withTimeout(arrived, 10_000, () => "no delivery within 10 s"));
      if (i >= 3) samples.push(at - started); // the first few warm the consumer
    }
    samples.sort((a, b) => a - b);
    return { n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) };
  } finally {
    await call(`${apiUrl}/v1/webhook-endpoints/${endpoint.id}`, headers, "DELETE");
    await receiver.close();
  }
}

/**
 * Deliveries per second one consumer sustains: `events` test events queued as fast as the API takes
 * them, timed from the first arrival to the last.
 * @param {{ apiUrl: string, headers: Record<string, string>, events: number }} opts
 */
export async function deliveryRate({ apiUrl, headers, events }) {
  /** @type {number[]} */
  const arrivals = [];
  /** @type {() => void} */
  let done = () => {};
  const all = new Promise((resolve) => (done = () => resolve(undefined)));
  const receiver = await startReceiver((_, at) => {
    arrivals.push(at);
    if (arrivals.length === events) done();
  });
  const endpoint = await call(`${apiUrl}/v1/webhook-endpoints`, headers, "POST", { url: receiver.url, enabled_events: ["webhook.test"] });
  try {
    let next = 0;
    const sender = async () => {
      while (next < events) {
        next += 1;
        await call(`${apiUrl}/v1/webhook-endpoints/${endpoint.id}/test`, headers, "POST");
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await withTimeout(all, 60_000, () => `${arrivals.length}/${events} delivered within 60 s`);
    arrivals.sort((a, b) => a - b);
    const first = arrivals[0] ?? 0;
    const last = arrivals[arrivals.length - 1] ?? 0;
    return { events, seconds: (last - first) / 1000, per_second: (events - 1) / ((last - first) / 1000) };
  } finally {
    await call(`${apiUrl}/v1/webhook-endpoints/${endpoint.id}`, headers, "DELETE");
    await receiver.close();
  }
}
