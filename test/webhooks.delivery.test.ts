import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import worker from "../src/index";
import { createLogger } from "../src/lib/logger";
import { deliverBatch } from "../src/webhooks/delivery";
import type { DeliveryMessage } from "../src/webhooks/dispatch";
import { buildEvent, insertEvents } from "../src/webhooks/events";
import { RETRY_DELAYS_S } from "../src/webhooks/schedule";
import { freshOrg } from "./helpers/auth";
import { api } from "./helpers/http";
import { type Answer, createEndpoint, type Delivery, ok, Receivers, storedEvents, uniqueName, waitFor } from "./helpers/webhooks";

/**
 * The webhook queue consumer, driven directly (a retry in the simulated queue would wait its real
 * delay): one attempt per invocation, its log row, and then ack, retry with the schedule's delay,
 * or disable the endpoint. Events are written straight to D1 as already dispatched, so the
 * simulated queue never delivers them on its own.
 */

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => {
  receivers.restore();
  vi.useRealTimers();
});

interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** An event of the org, stored as dispatched: only the consumer calls below deliver it. */
async function storeEvent(orgId: string, data: Record<string, unknown> = { note: "héllo – ✓ 🎉", n: 1.5, nested: { list: [1, "two", null] } }) {
  const event = buildEvent(orgId, "conversation.ended", data);
  await insertEvents(createDb(env.DB), [event], event.createdAt);
  return event;
}

/**
 * One invocation of the Worker's queue handler with one message: its ack/retry outcome from the
 * pool, and the delays asked of `retry()` (the pool's result does not keep them).
 */
async function consume(body: DeliveryMessage, attempts: number) {
  const batch = createMessageBatch<DeliveryMessage>("avatar-api-webhooks", [{ id: "m1", timestamp: new Date(), attempts, body }]);
  const message = batch.messages[0] as Message<DeliveryMessage>;
  const retry = vi.spyOn(message, "retry");
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ...result, delays: retry.mock.calls.map(([options]) => options?.delaySeconds) };
}
type Consumed = Awaited<ReturnType<typeof consume>>;

const expectAcked = (result: Consumed) => {
  expect(result.explicitAcks).toEqual(["m1"]);
  expect(result.retryMessages).toEqual([]);
  expect(result.delays).toEqual([]);
  expect(result.ackAll).toBe(false);
  expect(result.retryBatch.retry).toBe(false);
};

/** The one retry's delay, in seconds. */
const retried = (result: Consumed): number => {
  expect(result.explicitAcks).toEqual([]);
  expect(result.retryMessages).toEqual([{ msgId: "m1" }]);
  expect(result.delays).toHaveLength(1);
  expect(typeof result.delays[0]).toBe("number");
  return result.delays[0] ?? Number.NaN;
};

async function deliveries(endpointId: string, key: string): Promise<Delivery[]> {
  const res = await api(`/v1/webhook-endpoints/${endpointId}/deliveries`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as List<Delivery>).data;
}

async function endpointJson(endpointId: string, key: string) {
  const res = await api(`/v1/webhook-endpoints/${endpointId}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; disabled: boolean; disabled_at: string | null; disabled_reason: string | null };
}

const failingSince = async (endpointId: string) =>
  (await env.DB.prepare("SELECT failing_since FROM webhook_endpoints WHERE id = ?").bind(endpointId).first<{ failing_since: number | null }>())?.failing_since;

/** An org with one endpoint (all events) at a fresh fake receiver answering `script` (default: 200). */
async function setup(prefix: string, ...script: Answer[]) {
  const org = await freshOrg("pro");
  const receiver = receivers.add(uniqueName(prefix), ...(script.length > 0 ? script : [ok]));
  const endpoint = await createEndpoint({ url: receiver.url, enabled_events: ["*"] }, org.key);
  return { org, receiver, endpoint };
}

const within = (value: number, base: number) => {
  expect(value).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
  expect(value).toBeLessThanOrEqual(Math.ceil(base * 1.1));
};

describe("retries", () => {
  it("500, 500, then 200: retried after ≈5 s then ≈300 s, then acked; three attempts logged, same id and bytes, a timestamp per attempt", async () => {
    const { org, receiver, endpoint } = await setup(
      "retry",
      () => new Response("boom 1", { status: 500 }),
      () => new Response("boom 2", { status: 500 }),
      () => new Response("thanks"),
    );
    const event = await storeEvent(org.id);
    const [stored] = await storedEvents(org.id);
    expect(stored?.payload).toBe(event.payload);

    // Each attempt at its own (frozen) time, spaced as the schedule would space them.
    const t1 = Math.floor(Date.now() / 1000) * 1000 + 250;
    const times = [t1, t1 + 6_000, t1 + 320_000];
    const body = { event_id: event.id, endpoint_id: endpoint.id };

    vi.setSystemTime(times[0] as number);
    const first = retried(await consume(body, 1));
    vi.useRealTimers();
    within(first, 5);
    expect(await failingSince(endpoint.id)).toBe(times[0]);

    vi.setSystemTime(times[1] as number);
    const second = retried(await consume(body, 2));
    vi.useRealTimers();
    within(second, 300);
    expect(second).toBeGreaterThan(first);
    // The failure clock keeps the first failure's time.
    expect(await failingSince(endpoint.id)).toBe(times[0]);

    vi.setSystemTime(times[2] as number);
    expectAcked(await consume(body, 3));
    vi.useRealTimers();
    expect(await failingSince(endpoint.id)).toBeNull();

    const log = await deliveries(endpoint.id, org.key);
    expect(log.map((d) => [d.attempt, d.status_code, d.success])).toEqual([
      [3, 200, true],
      [2, 500, false],
      [1, 500, false],
    ]);
    expect(log.map((d) => d.created_at)).toEqual([iso(times[2] as number), iso(times[1] as number), iso(times[0] as number)]);
    expect(log.map((d) => d.next_retry_at)).toEqual([null, iso((times[1] as number) + second * 1000), iso((times[0] as number) + first * 1000)]);
    expect(log.map((d) => d.response_body)).toEqual(["thanks", "boom 2", "boom 1"]);
    for (const d of log) {
      expect(d).toMatchObject({ object: "webhook_delivery", endpoint_id: endpoint.id, event_id: event.id, event_type: "conversation.ended", error: null });
      expect(d.id).toMatch(/^wd_[0-9A-HJKMNP-TV-Z]{26}$/);
    }

    expect(receiver.requests).toHaveLength(3);
    for (const [i, req] of receiver.requests.entries()) {
      expect(req.url).toBe(endpoint.url);
      expect(req.headers["webhook-id"]).toBe(event.id);
      expect(req.body).toBe(event.payload);
      expect(req.headers["webhook-timestamp"]).toBe(String(Math.floor((times[i] as number) / 1000)));
      expect(req.headers["content-type"]).toBe("application/json");
    }
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-signature"])).size).toBe(3);
  });

  it("the delays follow the schedule, ±10%, and never exceed a day", async () => {
    const { org, endpoint } = await setup("sched", () => new Response(null, { status: 500 }));
    const event = await storeEvent(org.id);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= RETRY_DELAYS_S.length; attempt++)
      delays.push(retried(await consume({ event_id: event.id, endpoint_id: endpoint.id }, attempt)));
    expect(delays).toHaveLength(9);
    for (const [i, delay] of delays.entries()) within(delay, Math.min(RETRY_DELAYS_S[i] as number, 86_400));
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(86_400);
    // Strictly growing up to the cap.
    for (let i = 1; i < 8; i++) expect(delays[i] as number).toBeGreaterThan(delays[i - 1] as number);
  });

  it("the schedule ends: a failing 10th attempt is acked, logged with next_retry_at null", async () => {
    const { org, receiver, endpoint } = await setup("last", () => new Response("still down", { status: 500 }));
    const event = await storeEvent(org.id);
    expectAcked(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 10));
    expect(receiver.requests).toHaveLength(1);
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ attempt: 10, status_code: 500, success: false, next_retry_at: null });
    // Failed, but not for three days yet: still enabled.
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: false, disabled_reason: null });
  });

  it("Retry-After is honoured when longer than the schedule: delta-seconds and an HTTP date", async () => {
    const { org, endpoint } = await setup(
      "later",
      () => new Response("busy", { status: 503, headers: { "Retry-After": "120" } }),
      () => new Response("busy", { status: 503, headers: { "Retry-After": new Date(Date.now() + 600_000).toUTCString() } }),
      () => new Response("busy", { status: 429, headers: { "Retry-After": "1" } }),
    );
    const event = await storeEvent(org.id);
    const body = { event_id: event.id, endpoint_id: endpoint.id };
    const first = retried(await consume(body, 1));
    expect(first).toBeGreaterThanOrEqual(120);
    expect(first).toBeLessThan(130);
    const second = retried(await consume(body, 1));
    expect(second).toBeGreaterThanOrEqual(598);
    expect(second).toBeLessThanOrEqual(601);
    // Shorter than the schedule: the schedule wins (attempt 2 → ≈300 s).
    within(retried(await consume(body, 2)), 300);
    const [latest, , oldest] = await deliveries(endpoint.id, org.key);
    expect(latest).toMatchObject({ status_code: 429, success: false });
    expect(oldest).toMatchObject({ status_code: 503, success: false });
    expect(Date.parse(oldest?.next_retry_at ?? "") - Date.parse(oldest?.created_at ?? "")).toBeGreaterThanOrEqual(119_000);
  });
});

describe("failures", () => {
  it("a receiver that hangs: the attempt fails after the timeout with no status, and is retried", async () => {
    const { org, receiver, endpoint } = await setup("hang", "hang");
    const event = await storeEvent(org.id);
    const started = Date.now();
    const delay = retried(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1));
    const elapsed = Date.now() - started;
    within(delay, 5);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
    expect(receiver.requests).toHaveLength(1);
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ attempt: 1, status_code: null, success: false, response_body: null });
    expect(row?.error).toMatch(/300 ms/);
    expect(row?.latency_ms).toBeGreaterThanOrEqual(290);
    expect(row?.next_retry_at).not.toBeNull();
  });

  it("keeps only the first 1 KiB of the receiver's answer", async () => {
    const { org, endpoint } = await setup("chatty", () => new Response(`${"x".repeat(1024)}TAIL${"y".repeat(8_000)}`, { status: 500 }));
    const event = await storeEvent(org.id);
    retried(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1));
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row?.response_body).toBe("x".repeat(1024));
  });

  it("a 302 is not followed: one request made with redirect manual, a failed attempt, retried", async () => {
    const elsewhere = receivers.add(uniqueName("elsewhere"), ok);
    const { org, receiver, endpoint } = await setup("redirect", () => new Response(null, { status: 302, headers: { Location: elsewhere.url } }));
    const event = await storeEvent(org.id);
    within(retried(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1)), 5);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.redirect).toBe("manual");
    expect(elsewhere.requests).toHaveLength(0);
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ attempt: 1, status_code: 302, success: false });
    expect(row?.error).toMatch(/redirect/);
    expect(row?.error).toContain(elsewhere.url);
    expect(row?.next_retry_at).not.toBeNull();
  });

  it("two deliveries to one endpoint answered 410 in one batch record one webhook_endpoint.disabled", async () => {
    const { org, receiver, endpoint } = await setup("gone2", () => new Response("gone", { status: 410 }));
    const [first, second] = [await storeEvent(org.id), await storeEvent(org.id)];
    const batch = createMessageBatch<DeliveryMessage>("avatar-api-webhooks", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { event_id: first.id, endpoint_id: endpoint.id } },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { event_id: second.id, endpoint_id: endpoint.id } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect([...result.explicitAcks].sort()).toEqual(["m1", "m2"]);
    expect(receiver.requests).toHaveLength(2);
    const listed = await api("/v1/events?type=webhook_endpoint.disabled", { key: org.key });
    expect(((await listed.json()) as List<unknown>).data).toHaveLength(1);
    expect(await deliveries(endpoint.id, org.key)).toHaveLength(2);
  });

  it("410 disables the endpoint at once (gone), acks, and records webhook_endpoint.disabled, sent to the org's other endpoints", async () => {
    const { org, receiver, endpoint } = await setup("gone", () => new Response("gone", { status: 410 }));
    const watcher = receivers.add(uniqueName("watcher"), ok);
    const watching = await createEndpoint({ url: watcher.url, enabled_events: ["webhook_endpoint.disabled"] }, org.key);
    const bystander = receivers.add(uniqueName("bystander"), ok);
    await createEndpoint({ url: bystander.url, enabled_events: ["api_key.created"] }, org.key);

    const event = await storeEvent(org.id);
    expectAcked(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1));
    expect(receiver.requests).toHaveLength(1);

    const now = await endpointJson(endpoint.id, org.key);
    expect(now).toMatchObject({ disabled: true, disabled_reason: "gone" });
    expect(now.disabled_at).not.toBeNull();
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ attempt: 1, status_code: 410, success: false, next_retry_at: null });

    const listed = await api("/v1/events?type=webhook_endpoint.disabled", { key: org.key });
    expect(listed.status).toBe(200);
    const { data } = (await listed.json()) as List<{ id: string; type: string; data: { reason: string; webhook_endpoint: Record<string, unknown> } }>;
    expect(data).toHaveLength(1);
    const disabled = data[0];
    expect(disabled).toMatchObject({ object: "event", type: "webhook_endpoint.disabled", data: { reason: "gone" } });
    expect(disabled?.data.webhook_endpoint).toMatchObject({
      id: endpoint.id,
      object: "webhook_endpoint",
      url: endpoint.url,
      disabled: true,
      disabled_reason: "gone",
    });
    expect(disabled?.data.webhook_endpoint).not.toHaveProperty("secret");
    expect(JSON.stringify(disabled)).not.toContain(endpoint.secret);

    // Delivered to the endpoint subscribed to it, not to the disabled one, nor to one subscribed elsewhere.
    await waitFor(() => watcher.requests.length === 1);
    expect(watcher.requests[0]?.headers["webhook-id"]).toBe(disabled?.id);
    expect(JSON.parse(watcher.requests[0]?.body ?? "null")).toEqual(disabled);
    await waitFor(async () => (await deliveries(watching.id, org.key)).length === 1);
    expect(await deliveries(watching.id, org.key)).toMatchObject([
      { event_id: disabled?.id, event_type: "webhook_endpoint.disabled", attempt: 1, success: true, status_code: 200 },
    ]);
    expect(receiver.requests).toHaveLength(1);
    expect(bystander.requests).toHaveLength(0);
  });

  it("three days of failures disable the endpoint (failing) and record the event; just under three days does not", async () => {
    const threeDays = 3 * 86_400_000;
    const { org, receiver, endpoint } = await setup("failing", () => new Response("down", { status: 500 }));
    const event = await storeEvent(org.id);
    const body = { event_id: event.id, endpoint_id: endpoint.id };

    // Just short of three days: retried, still enabled.
    await env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?")
      .bind(Date.now() - threeDays + 60_000, endpoint.id)
      .run();
    retried(await consume(body, 4));
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: false });

    const since = Date.now() - threeDays - 60_000;
    await env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?").bind(since, endpoint.id).run();
    expectAcked(await consume(body, 5));
    expect(receiver.requests).toHaveLength(2);
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: true, disabled_reason: "failing" });
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ attempt: 5, status_code: 500, success: false, next_retry_at: null });

    const stored = await storedEvents(org.id, "webhook_endpoint.disabled");
    expect(stored).toHaveLength(1);
    const payload = JSON.parse(stored[0]?.payload ?? "null") as {
      type: string;
      data: { reason: string; webhook_endpoint: { id: string; disabled_reason: string } };
    };
    expect(payload).toMatchObject({
      type: "webhook_endpoint.disabled",
      data: { reason: "failing", webhook_endpoint: { id: endpoint.id, disabled_reason: "failing" } },
    });

    // Once disabled, further messages for it are acked without a request.
    expectAcked(await consume(body, 6));
    expect(receiver.requests).toHaveLength(2);
  });

  it("a success clears failing_since", async () => {
    const { org, endpoint } = await setup("recover");
    const event = await storeEvent(org.id);
    await env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?")
      .bind(Date.now() - 3_600_000, endpoint.id)
      .run();
    expectAcked(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 2));
    expect(await failingSince(endpoint.id)).toBeNull();
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: false });
  });
});

describe("nothing to deliver", () => {
  it("a message for a deleted endpoint, a disabled endpoint or a missing event is acked without a request", async () => {
    const { org, receiver, endpoint } = await setup("deleted");
    const event = await storeEvent(org.id);
    const deleted = await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE", key: org.key });
    expect(deleted.status).toBe(200);
    expectAcked(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1));

    const off = receivers.add(uniqueName("off"), ok);
    const disabled = await createEndpoint({ url: off.url }, org.key);
    const patched = await api(`/v1/webhook-endpoints/${disabled.id}`, {
      method: "PATCH",
      key: org.key,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ disabled: true }),
    });
    expect(patched.status).toBe(200);
    expectAcked(await consume({ event_id: event.id, endpoint_id: disabled.id }, 1));

    const live = receivers.add(uniqueName("live"), ok);
    const enabled = await createEndpoint({ url: live.url }, org.key);
    expectAcked(await consume({ event_id: "evt_01JD0000000000000000000000", endpoint_id: enabled.id }, 1));

    expect(receiver.requests).toHaveLength(0);
    expect(off.requests).toHaveLength(0);
    expect(live.requests).toHaveLength(0);
    const logged = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE org_id = ?").bind(org.id).first<{ n: number }>();
    expect(logged?.n).toBe(0);
  });
});

describe("no leaks", () => {
  it("the one request goes to the endpoint's exact URL, with only the webhook headers", async () => {
    const org = await freshOrg("pro");
    const target = receivers.add(uniqueName("exact"), ok);
    const url = `${target.url}/in?tenant=42&x=a%20b`;
    const endpoint = await createEndpoint({ url, enabled_events: ["conversation.ended"] }, org.key);
    const decoy = receivers.add(uniqueName("decoy"), ok);
    await createEndpoint({ url: decoy.url, enabled_events: ["api_key.created"] }, org.key);
    const event = await storeEvent(org.id);

    const spy = vi.mocked(globalThis.fetch);
    const before = spy.mock.calls.length;
    expectAcked(await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1));
    const calls = spy.mock.calls.slice(before);
    expect(calls).toHaveLength(1);
    expect(String(calls[0]?.[0])).toBe(url);
    expect(calls[0]?.[1]?.method).toBe("POST");

    expect(target.requests).toHaveLength(1);
    expect(decoy.requests).toHaveLength(0);
    const req = target.requests[0];
    expect(req?.url).toBe(url);
    expect(Object.keys(req?.headers ?? {}).sort()).toEqual(["content-type", "user-agent", "webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(JSON.stringify(req)).not.toContain(endpoint.secret);
    expect(JSON.stringify(req)).not.toContain(endpoint.secret.slice("whsec_".length));
  });
});

describe("the URL policy, again at delivery", () => {
  const REFUSED = /^refused by the URL policy: the URL must .+\. No request was made; PATCH the endpoint with a new url\.$/;

  /** Outbound fetches made while `run` runs (the receivers' spy sees every one, stubbed or not). */
  async function fetchesDuring(run: () => Promise<unknown>) {
    const spy = vi.mocked(globalThis.fetch);
    const before = spy.mock.calls.length;
    await run();
    return spy.mock.calls.slice(before).map(([input]) => String(input instanceof Request ? input.url : input));
  }

  /** The structured warnings logged while `run` runs, parsed. */
  async function warningsDuring(run: () => Promise<unknown>) {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await run();
      return warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    } finally {
      warn.mockRestore();
    }
  }

  /** Stores `url` as the endpoint's, as a laxer policy (or an older version) once let it be stored. */
  const storeUrl = (endpointId: string, url: string) => env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind(url, endpointId).run();

  it.each([
    ["http: to the receiver's own host", (host: string) => `http://${host}/hook`, /must be an https: URL/],
    ["the receiver's host with a trailing dot", (host: string) => `https://${host}./hook`, /must not end its host name with a dot/],
    ["IPv4-translated ::ffff:0:0:0/96", () => "https://[::ffff:0:808:808]/hook", /loopback, private, link-local or internal/],
    ["local-use NAT64 64:ff9b:1::/48", () => "https://[64:ff9b:1::a00:1]/hook", /loopback, private, link-local or internal/],
    ["Teredo 2001::/32", () => "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", /loopback, private, link-local or internal/],
    ["site-local fec0::/10", () => "https://[fec0::1]/hook", /loopback, private, link-local or internal/],
    ["a private IPv4 address", () => "https://10.0.0.1/hook", /loopback, private, link-local or internal/],
    ["localhost", () => "https://localhost/hook", /loopback, private, link-local or internal/],
    ["a tab inside the host", (host: string) => `https://${host.slice(0, 3)}\t${host.slice(3)}/hook`, /control characters/],
  ])("a stored URL the policy now refuses (%s): no request, the attempt logged as refused, acked, a warning", async (_name, stored, reason) => {
    const { org, receiver, endpoint } = await setup("refused");
    await storeUrl(endpoint.id, stored(new URL(receiver.url).host));
    const event = await storeEvent(org.id);

    let result: Consumed | undefined;
    const warnings = await warningsDuring(async () => {
      expect(await fetchesDuring(async () => (result = await consume({ event_id: event.id, endpoint_id: endpoint.id }, 1)))).toEqual([]);
    });
    // Not retried: the same URL would be refused again.
    expectAcked(result as Consumed);
    expect(receiver.requests).toHaveLength(0);

    const log = await deliveries(endpoint.id, org.key);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      event_id: event.id,
      attempt: 1,
      success: false,
      status_code: null,
      response_body: null,
      latency_ms: 0,
      next_retry_at: null,
    });
    expect(log[0]?.error).toMatch(REFUSED);
    expect(log[0]?.error).toMatch(reason);

    const refusals = warnings.filter((w) => w.message === "webhook delivery refused by the URL policy");
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: "warn", component: "webhooks", event_id: event.id, endpoint_id: endpoint.id, org_id: org.id, attempt: 1 });
    expect(String(refusals[0]?.reason)).toMatch(reason);

    // The receiver did not fail: the endpoint stays enabled and its failure clock does not start.
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: false, disabled_reason: null });
    expect(await failingSince(endpoint.id)).toBeNull();
    expect(await storedEvents(org.id, "webhook_endpoint.disabled")).toEqual([]);
  });

  it("a refusal neither moves a failing endpoint's clock nor disables it, even past three days; a new url delivers again", async () => {
    const { org, receiver, endpoint } = await setup("clock");
    const host = new URL(receiver.url).host;
    const since = Date.now() - 3 * 86_400_000 - 60_000;
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ?, failing_since = ? WHERE id = ?").bind(`http://${host}/hook`, since, endpoint.id).run();
    const event = await storeEvent(org.id);
    const body = { event_id: event.id, endpoint_id: endpoint.id };

    const warnings = await warningsDuring(async () => expectAcked(await consume(body, 5)));
    expect(warnings.map((w) => w.message)).toEqual(["webhook delivery refused by the URL policy"]);
    expect(receiver.requests).toHaveLength(0);
    expect(await failingSince(endpoint.id)).toBe(since);
    expect(await endpointJson(endpoint.id, org.key)).toMatchObject({ disabled: false });
    expect(await storedEvents(org.id, "webhook_endpoint.disabled")).toEqual([]);
    const [refused] = await deliveries(endpoint.id, org.key);
    expect(refused).toMatchObject({ attempt: 5, status_code: null, success: false, next_retry_at: null });
    expect(refused?.error).toMatch(REFUSED);

    // The way out: PATCH a new url (the stored one alone would be refused, see webhook-endpoints.test.ts).
    const patched = await api(`/v1/webhook-endpoints/${endpoint.id}`, {
      method: "PATCH",
      key: org.key,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ url: receiver.url }),
    });
    expect(patched.status).toBe(200);
    expectAcked(await consume(body, 6));
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.url).toBe(receiver.url);
    expect(await failingSince(endpoint.id)).toBeNull();
  });

  it("the policy is the current setting's: WEBHOOKS_ALLOW_INSECURE_URLS=on delivers to an http: URL the default refuses; a trailing dot is refused either way", async () => {
    const { org, receiver, endpoint } = await setup("insecure");
    const host = new URL(receiver.url).host;
    const event = await storeEvent(org.id);
    const run = async (allowInsecureUrls: boolean) => {
      const batch = createMessageBatch<DeliveryMessage>("avatar-api-webhooks", [
        { id: "m1", timestamp: new Date(), attempts: 1, body: { event_id: event.id, endpoint_id: endpoint.id } },
      ]);
      const message = batch.messages[0] as Message<DeliveryMessage>;
      const ack = vi.spyOn(message, "ack");
      const retry = vi.spyOn(message, "retry");
      const deps = { db: createDb(env.DB), queue: env.WEBHOOKS, log: createLogger({ component: "webhooks" }), timeoutMs: 300, allowInsecureUrls };
      await warningsDuring(() => deliverBatch(deps, batch));
      return { acked: ack.mock.calls.length, retried: retry.mock.calls.length };
    };

    await storeUrl(endpoint.id, `http://${host}/hook`);
    expect(await run(false)).toEqual({ acked: 1, retried: 0 });
    expect(receiver.requests).toHaveLength(0);
    expect(await run(true)).toEqual({ acked: 1, retried: 0 });
    expect(receiver.requests.map((r) => r.url)).toEqual([`http://${host}/hook`]);

    await storeUrl(endpoint.id, `http://${host}./hook`);
    expect(await fetchesDuring(() => run(true))).toEqual([]);

    const log = await deliveries(endpoint.id, org.key);
    expect(log.map((d) => [d.status_code, d.success])).toEqual([
      [null, false],
      [200, true],
      [null, false],
    ]);
    expect(log[0]?.error).toMatch(/must not end its host name with a dot/);
    expect(log[2]?.error).toMatch(/must be an https: URL/);
  });

  it("over HTTP: POST …/test to an endpoint whose stored URL is refused reaches nobody; the deliveries log says why", async () => {
    const { org, receiver, endpoint } = await setup("viaqueue");
    await storeUrl(endpoint.id, `http://${new URL(receiver.url).host}/hook`);
    const sent = await warningsDuring(async () => {
      const res = await api(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST", key: org.key });
      expect(res.status).toBe(202);
      await waitFor(async () => (await deliveries(endpoint.id, org.key)).length === 1);
    });
    expect(sent.some((w) => w.message === "webhook delivery refused by the URL policy" && w.endpoint_id === endpoint.id)).toBe(true);
    const [row] = await deliveries(endpoint.id, org.key);
    expect(row).toMatchObject({ event_type: "webhook.test", attempt: 1, status_code: null, success: false, next_retry_at: null });
    expect(row?.error).toMatch(REFUSED);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests).toHaveLength(0);
    expect(await deliveries(endpoint.id, org.key)).toHaveLength(1);
  });
});
