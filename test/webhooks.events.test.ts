import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { freshOrg, userJwt } from "./helpers/auth";
import { api, BASE, expectError } from "./helpers/http";
import { createEndpoint, ok, type Received, Receivers, storedEvents, uniqueName, waitFor } from "./helpers/webhooks";
import { connect, createConversation, type Socket } from "./helpers/ws";

/**
 * The events of real flows (API keys over HTTP, conversations over REST and WebSocket) as fake
 * receivers get them through the simulated queue; the events API; redelivery; and the cron sweep
 * that sends what a failed enqueue left behind.
 */

let receivers: Receivers;
const sockets: Socket[] = [];
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => {
  receivers.restore();
  for (const s of sockets.splice(0)) s.close();
  vi.restoreAllMocks();
});

interface Event<D = Record<string, unknown>> {
  id: string;
  object: "event";
  type: string;
  created_at: string;
  data: D;
}
interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
interface Message {
  id: string;
  object: "message";
  role: "user" | "assistant";
  content: string;
  turn_id: string;
  interrupted: boolean;
  created_at: string;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const EVT = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;
const JSON_HEADERS = { "Content-Type": "application/json" };

const post = (path: string, body: unknown, key: string) => api(path, { method: "POST", key, headers: JSON_HEADERS, body: JSON.stringify(body) });

/** What a receiver got, as events; each checked against the envelope and its webhook-id. */
// biome-ignore lint/suspicious/noExplicitAny: each caller reads the data of the event type it asked for
function eventsOf(requests: Received[], type?: string): Event<any>[] {
  const list = requests.map((r) => {
    const event = JSON.parse(r.body) as Event;
    expect(Object.keys(event)).toEqual(["id", "object", "type", "created_at", "data"]);
    expect(event.id).toMatch(EVT);
    expect(event.object).toBe("event");
    expect(event.created_at).toMatch(ISO);
    expect(r.headers["webhook-id"]).toBe(event.id);
    return event;
  });
  return type === undefined ? list : list.filter((e) => e.type === type);
}

const receiver = (prefix: string) => receivers.add(uniqueName(prefix), ok);

/** Lets deliveries that should not happen have their chance to (the simulated queue is fast). */
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function createKey(orgId: string, name: string) {
  const res = await post("/v1/api-keys", { name, mode: "test" }, await userJwt({ org_id: orgId }));
  expect(res.status).toBe(201);
  return (await res.json()) as Record<string, unknown> & { id: string; secret: string };
}

async function openSocket(conversationId: string, key: string) {
  const socket = await connect(conversationId, { key });
  sockets.push(socket);
  return socket;
}

async function getMessages(conversationId: string, key: string, query = "") {
  const res = await api(`/v1/conversations/${conversationId}/messages${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as List<Message>;
}

/** A fresh org with one endpoint at a fresh fake receiver. */
async function orgWithReceiver(prefix: string, enabledEvents: string[] = ["*"]) {
  const org = await freshOrg("pro");
  const r = receiver(prefix);
  const endpoint = await createEndpoint({ url: r.url, enabled_events: enabledEvents }, org.key);
  return { org, receiver: r, endpoint };
}

/** The endpoint's delivery log: `count` attempts, every one a 200. */
async function expectDelivered(endpointId: string, key: string, count: number) {
  await waitFor(async () => {
    const res = await api(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`, { key });
    return ((await res.json()) as List<unknown>).data.length >= count;
  });
  const res = await api(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`, { key });
  const log = (await res.json()) as List<{ success: boolean; status_code: number | null; attempt: number; error: string | null }>;
  expect(log.data.map((d) => [d.success, d.status_code, d.attempt, d.error])).toEqual(Array.from({ length: count }, () => [true, 200, 1, null]));
}

async function disableEndpoint(id: string, key: string) {
  const res = await api(`/v1/webhook-endpoints/${id}`, { method: "PATCH", key, headers: JSON_HEADERS, body: JSON.stringify({ disabled: true }) });
  expect(res.status).toBe(200);
}

describe("api_key events", () => {
  it("api_key.created carries the key without its secret; api_key.revoked once, however often it is revoked", async () => {
    const { org, receiver: r, endpoint } = await orgWithReceiver("keys", ["api_key.created", "api_key.revoked"]);

    const key = await createKey(org.id, "CI runner");
    await waitFor(() => r.requests.length === 1);
    const [created] = eventsOf(r.requests);
    const { secret, ...publicFields } = key;
    expect(created).toEqual({ id: created?.id, object: "event", type: "api_key.created", created_at: key.created_at, data: { api_key: publicFields } });
    expect(Object.keys(created?.data.api_key)).toEqual([
      "id",
      "object",
      "name",
      "mode",
      "prefix",
      "last4",
      "created_at",
      "last_used_at",
      "revoked_at",
      "quotas",
    ]);
    expect(r.requests[0]?.body).not.toContain(secret);
    expect(r.requests[0]?.body).not.toContain('"secret"');

    const jwt = await userJwt({ org_id: org.id });
    const res = await api(`/v1/api-keys/${key.id}`, { method: "DELETE", key: jwt });
    expect(res.status).toBe(200);
    const revoked = (await res.json()) as Record<string, unknown> & { revoked_at: string | null };
    expect(revoked.revoked_at).toMatch(ISO);
    await waitFor(() => r.requests.length === 2);
    const [event] = eventsOf(r.requests, "api_key.revoked");
    expect(event).toEqual({ id: event?.id, object: "event", type: "api_key.revoked", created_at: revoked.revoked_at, data: { api_key: revoked } });
    expect(event?.data.api_key).toMatchObject({ id: key.id, name: "CI runner", revoked_at: revoked.revoked_at });

    // A second revoke keeps the first time and records nothing.
    const again = await api(`/v1/api-keys/${key.id}`, { method: "DELETE", key: jwt });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { revoked_at: string }).revoked_at).toBe(revoked.revoked_at);
    await settle();
    expect(r.requests).toHaveLength(2);
    expect(await storedEvents(org.id, "api_key.revoked")).toHaveLength(1);
    expect((await storedEvents(org.id)).map((e) => e.type)).toEqual(["api_key.created", "api_key.revoked"]);
    await expectDelivered(endpoint.id, org.key, 2);
  });
});

describe("conversation events", () => {
  it("started when the first socket joins; ended and transcript.ready (inline) when it ends", async () => {
    const { org, receiver: r, endpoint } = await orgWithReceiver("conv");
    const conv = await createConversation({}, org.key);
    const socket = await openSocket(conv.id, org.key);
    const ready = await socket.next("session.ready");
    await waitFor(() => r.requests.length === 1);
    const [started] = eventsOf(r.requests, "conversation.started");
    expect(started?.data).toEqual({ conversation: ready.conversation });
    expect(started?.data.conversation).toMatchObject({ id: conv.id, object: "conversation", status: "active", ended_at: null, end_reason: null });
    expect(started?.data.conversation.started_at).toMatch(ISO);
    expect(started?.created_at).toBe(started?.data.conversation.started_at);

    // A second socket is not a start.
    const second = await openSocket(conv.id, org.key);
    await second.next("session.ready");

    const sent = await post(`/v1/conversations/${conv.id}/messages`, { content: "Tell me about gardens in two sentences." }, org.key);
    expect(sent.status).toBe(201);
    const turn = (await sent.json()) as { input: Message; output: Message };

    const endRes = await post(`/v1/conversations/${conv.id}/end`, {}, org.key);
    expect(endRes.status).toBe(200);
    const ended = (await endRes.json()) as { status: string; end_reason: string; started_at: string; ended_at: string };
    expect(ended).toMatchObject({ status: "ended", end_reason: "api_ended" });
    await waitFor(() => r.requests.length === 3);
    await settle();
    expect(r.requests).toHaveLength(3);
    expect(eventsOf(r.requests, "conversation.started")).toHaveLength(1);

    const [endedEvent] = eventsOf(r.requests, "conversation.ended");
    expect(endedEvent?.created_at).toBe(ended.ended_at);
    expect(endedEvent?.data).toEqual({
      conversation: ended,
      reason: "api_ended",
      duration_s: endedEvent?.data.duration_s,
      message_count: 2,
    });
    const seconds = (Date.parse(ended.ended_at) - Date.parse(ended.started_at)) / 1000;
    expect(endedEvent?.data.duration_s).toBeGreaterThanOrEqual(Math.max(0, seconds - 1));
    expect(endedEvent?.data.duration_s).toBeLessThanOrEqual(seconds + 1);

    const [transcript] = eventsOf(r.requests, "conversation.transcript.ready");
    expect(transcript?.created_at).toBe(ended.ended_at);
    expect(transcript?.data).toEqual({ conversation_id: conv.id, message_count: 2, messages: [turn.input, turn.output], transcript_url: null });

    // The events API lists the same three, newest first (the two end events share a time; ids break the tie).
    const listed = (await (await api("/v1/events", { key: org.key })).json()) as List<Event>;
    expect(listed.data.map((e) => e.type)).toEqual(["conversation.transcript.ready", "conversation.ended", "conversation.started"]);
    expect(listed.data).toEqual([transcript, endedEvent, started]);
    await expectDelivered(endpoint.id, org.key, 3);
  });

  it("the 16 KiB is bytes, not characters: a multi-byte transcript under 16 K characters is not inlined", async () => {
    const { org, receiver: r } = await orgWithReceiver("euro", ["conversation.transcript.ready"]);
    const conv = await createConversation({}, org.key);
    for (let i = 0; i < 2; i++) {
      expect((await post(`/v1/conversations/${conv.id}/messages`, { content: "€".repeat(3_000) }, org.key)).status).toBe(201);
    }
    const all = ((await (await api(`/v1/conversations/${conv.id}`, { key: org.key })).json()) as { messages: Message[] }).messages;
    expect(JSON.stringify(all).length).toBeLessThan(16 * 1024);
    expect(new TextEncoder().encode(JSON.stringify(all)).byteLength).toBeGreaterThan(16 * 1024);
    expect((await post(`/v1/conversations/${conv.id}/end`, {}, org.key)).status).toBe(200);
    await waitFor(() => r.requests.length === 1);
    const [event] = eventsOf(r.requests, "conversation.transcript.ready");
    expect(event?.data).toMatchObject({ messages: null, transcript_url: `${BASE}/v1/conversations/${conv.id}/messages` });
  });

  it("a transcript over 16 KiB is not inlined: transcript_url pages through it, newest first", async () => {
    const { org, receiver: r } = await orgWithReceiver("long", ["conversation.transcript.ready"]);
    const conv = await createConversation({}, org.key);
    for (let i = 1; i <= 5; i++) {
      const content = `Question ${i}: ${"tell me more about lighthouses and their keepers, ".repeat(100)}`.slice(0, 4000).trim();
      const res = await post(`/v1/conversations/${conv.id}/messages`, { content }, org.key);
      expect(res.status).toBe(201);
    }
    const all = ((await (await api(`/v1/conversations/${conv.id}`, { key: org.key })).json()) as { messages: Message[] }).messages;
    expect(all).toHaveLength(10);
    expect(JSON.stringify(all).length).toBeGreaterThan(16 * 1024);

    expect((await post(`/v1/conversations/${conv.id}/end`, {}, org.key)).status).toBe(200);
    await waitFor(() => r.requests.length === 1);
    const [event] = eventsOf(r.requests, "conversation.transcript.ready");
    expect(event?.data).toEqual({
      conversation_id: conv.id,
      message_count: 10,
      messages: null,
      transcript_url: `${BASE}/v1/conversations/${conv.id}/messages`,
    });
    expect(r.requests[0]?.body.length).toBeLessThan(2_000);

    // The URL, fetched with the org's key, gives the transcript newest first in pages.
    const url = event?.data.transcript_url as string;
    const pages: List<Message>[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`${url}?limit=4${cursor ? `&starting_after=${cursor}` : ""}`, { key: org.key });
      expect(res.status).toBe(200);
      const page = (await res.json()) as List<Message>;
      pages.push(page);
      cursor = page.next_cursor;
    } while (cursor !== null && pages.length < 5);
    expect(pages.map((p) => [p.object, p.data.length, p.has_more])).toEqual([
      ["list", 4, true],
      ["list", 4, true],
      ["list", 2, false],
    ]);
    expect(pages.map((p) => p.next_cursor)).toEqual([pages[0]?.data[3]?.id, pages[1]?.data[3]?.id, null]);
    expect(pages.flatMap((p) => p.data)).toEqual([...all].reverse());
    expect((await getMessages(conv.id, org.key)).data).toEqual([...all].reverse());

    await expectError(await api(`${url}?starting_after=msg_01JD0000000000000000000000`, { key: org.key }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
    const other = await freshOrg("pro");
    await expectError(await api(url, { key: other.key }), 404, { type: "not_found", code: "conversation.not_found" });
    // A cursor from another conversation is not one of this one's.
    const elsewhere = await createConversation({}, org.key);
    await expectError(await api(`/v1/conversations/${elsewhere.id}/messages?starting_after=${all[0]?.id}`, { key: org.key }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });
    expect(await getMessages(elsewhere.id, org.key)).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
  });
});

describe("endpoint filtering", () => {
  it('a typed subscription gets only its type, a disabled endpoint nothing, ["*"] everything; other orgs nothing', async () => {
    const { org, receiver: all } = await orgWithReceiver("all");
    const endedOnly = receiver("endedonly");
    await createEndpoint({ url: endedOnly.url, enabled_events: ["conversation.ended"] }, org.key);
    const off = receiver("off");
    const offEndpoint = await createEndpoint({ url: off.url, enabled_events: ["*"] }, org.key);
    await disableEndpoint(offEndpoint.id, org.key);
    const { receiver: stranger } = await orgWithReceiver("stranger");

    // Ended by the client this time, over the socket.
    const conv = await createConversation({}, org.key);
    const socket = await openSocket(conv.id, org.key);
    await socket.next("session.ready");
    socket.send({ type: "session.end" });
    await socket.next("session.ended");
    await waitFor(() => all.requests.length === 3);
    await settle();

    expect(
      eventsOf(all.requests)
        .map((e) => e.type)
        .sort(),
    ).toEqual(["conversation.ended", "conversation.started", "conversation.transcript.ready"]);
    const [ended] = eventsOf(endedOnly.requests);
    expect(eventsOf(endedOnly.requests).map((e) => e.type)).toEqual(["conversation.ended"]);
    expect(ended?.data).toMatchObject({ reason: "client_ended", message_count: 0, conversation: { id: conv.id, status: "ended", end_reason: "client_ended" } });
    expect(endedOnly.requests[0]?.body).toBe(all.requests.find((q) => q.headers["webhook-id"] === ended?.id)?.body);
    expect(off.requests).toHaveLength(0);
    expect(stranger.requests).toHaveLength(0);
  });

  it("a conversation that never started ends with duration_s 0 and no conversation.started", async () => {
    const { org, receiver: r } = await orgWithReceiver("unstarted", ["conversation.started", "conversation.ended"]);
    const conv = await createConversation({}, org.key);
    expect((await post(`/v1/conversations/${conv.id}/end`, {}, org.key)).status).toBe(200);
    await waitFor(() => r.requests.length === 1);
    await settle();
    expect(r.requests).toHaveLength(1);
    const [ended] = eventsOf(r.requests);
    expect(ended).toMatchObject({
      type: "conversation.ended",
      data: { reason: "api_ended", duration_s: 0, message_count: 0, conversation: { id: conv.id, started_at: null } },
    });
    // Not subscribed to it, but stored all the same.
    expect((await storedEvents(org.id)).map((e) => e.type)).toEqual(["conversation.ended", "conversation.transcript.ready"]);
  });
});

describe("the events API", () => {
  it("lists newest first in cursor pages, filters by type, retrieves one; other orgs and no key are refused", async () => {
    const org = await freshOrg("pro");
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await createKey(org.id, `key ${i}`));
    const revoked = await api(`/v1/api-keys/${keys[2]?.id}`, { method: "DELETE", key: await userJwt({ org_id: org.id }) });
    expect(revoked.status).toBe(200);
    const stored = await storedEvents(org.id);
    expect(stored).toHaveLength(6);
    const newestFirst = [...stored].reverse().map((e) => JSON.parse(e.payload) as Event);

    const seen: Event[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`/v1/events?limit=4${cursor ? `&starting_after=${cursor}` : ""}`, { key: org.key });
      expect(res.status).toBe(200);
      const page = (await res.json()) as List<Event>;
      expect(page.object).toBe("list");
      seen.push(...page.data);
      cursor = page.next_cursor;
      cursors.push(cursor);
    } while (cursor !== null && cursors.length < 4);
    expect(seen).toEqual(newestFirst);
    expect(seen[0]?.type).toBe("api_key.revoked");
    expect(cursors).toEqual([newestFirst[3]?.id, null]);

    const byType = (await (await api("/v1/events?type=api_key.created&limit=100", { key: org.key })).json()) as List<Event>;
    expect(byType.data.map((e) => e.id)).toEqual(newestFirst.filter((e) => e.type === "api_key.created").map((e) => e.id));
    expect(byType.data.map((e) => (e.data.api_key as { id: string }).id)).toEqual(keys.map((k) => k.id).reverse());
    const onlyRevoked = (await (await api("/v1/events?type=api_key.revoked", { key: org.key })).json()) as List<Event>;
    expect(onlyRevoked).toEqual({ object: "list", data: [newestFirst[0]], has_more: false, next_cursor: null });
    const none = (await (await api("/v1/events?type=conversation.ended", { key: org.key })).json()) as List<Event>;
    expect(none).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
    await expectError(await api("/v1/events?type=conversation.exploded", { key: org.key }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "type",
    });
    await expectError(await api("/v1/events?starting_after=evt_01JD0000000000000000000000", { key: org.key }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });

    // One event: the stored payload, byte for byte.
    const one = stored[0];
    const got = await api(`/v1/events/${one?.id}`, { key: org.key });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(one?.payload);

    const other = await freshOrg("pro");
    await expectError(await api(`/v1/events/${one?.id}`, { key: other.key }), 404, { type: "not_found", code: "event.not_found" });
    await expectError(await api(`/v1/events/${one?.id}/redeliver`, { method: "POST", key: other.key }), 404, { type: "not_found", code: "event.not_found" });
    await expectError(await api("/v1/events/evt_01JD0000000000000000000000", { key: org.key }), 404, { type: "not_found", code: "event.not_found" });
    const theirs = (await (await api("/v1/events", { key: other.key })).json()) as List<Event>;
    expect(theirs.data).toEqual([]);
    await expectError(await api(`/v1/events?starting_after=${one?.id}`, { key: other.key }), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "starting_after",
    });

    for (const [method, path] of [
      ["GET", "/v1/events"],
      ["GET", `/v1/events/${one?.id}`],
      ["POST", `/v1/events/${one?.id}/redeliver`],
    ] as const) {
      await expectError(await api(path, { method, key: null }), 401, { type: "authentication", code: "api_key.missing" });
    }
  });

  it("redeliver sends the event again, same webhook-id and bytes, to the enabled endpoints subscribed to it now", async () => {
    const { org, receiver: r, endpoint } = await orgWithReceiver("again");
    const key = await createKey(org.id, "Redeliver me");
    await waitFor(() => r.requests.length === 1);
    const [event] = eventsOf(r.requests);
    expect(event?.data.api_key.id).toBe(key.id);

    // Endpoints added since: one subscribed elsewhere, one disabled; neither gets it.
    const elsewhere = receiver("elsewhere");
    await createEndpoint({ url: elsewhere.url, enabled_events: ["conversation.ended"] }, org.key);
    const off = receiver("off");
    const offEndpoint = await createEndpoint({ url: off.url, enabled_events: ["*"] }, org.key);
    await disableEndpoint(offEndpoint.id, org.key);

    const res = await api(`/v1/events/${event?.id}/redeliver`, { method: "POST", key: org.key });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ object: "event_redelivery", event_id: event?.id, endpoint_ids: [endpoint.id] });
    await waitFor(() => r.requests.length === 2);
    expect(r.requests[1]?.headers["webhook-id"]).toBe(event?.id);
    expect(r.requests[1]?.body).toBe(r.requests[0]?.body);
    await settle();
    expect(r.requests).toHaveLength(2);
    expect(elsewhere.requests).toHaveLength(0);
    expect(off.requests).toHaveLength(0);

    const log = (await (await api(`/v1/webhook-endpoints/${endpoint.id}/deliveries`, { key: org.key })).json()) as List<{
      event_id: string;
      attempt: number;
      success: boolean;
    }>;
    expect(log.data.map((d) => [d.event_id, d.attempt, d.success])).toEqual([
      [event?.id, 1, true],
      [event?.id, 1, true],
    ]);
    expect(await storedEvents(org.id)).toHaveLength(1);
  });
});

describe("nothing is lost when the enqueue fails", () => {
  it("the event stays undispatched, and the cron sweep sends it once its grace is over", async () => {
    const { org, receiver: r, endpoint } = await orgWithReceiver("sweep", ["api_key.created"]);

    // The binding the test sees is the one the Worker's handlers get.
    const sendBatch = vi.spyOn(env.WEBHOOKS, "sendBatch").mockRejectedValueOnce(new Error("queue unavailable"));
    const key = await createKey(org.id, "Sweep me");
    expect(sendBatch).toHaveBeenCalledTimes(1);
    await settle();
    expect(r.requests).toHaveLength(0);
    const [before] = await storedEvents(org.id, "api_key.created");
    expect(before?.dispatched_at).toBeNull();
    expect(JSON.parse(before?.payload ?? "null")).toMatchObject({ type: "api_key.created", data: { api_key: { id: key.id } } });

    const sweep = async (scheduledTime: number) => {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    };

    // Younger than the grace period: left to the dispatch that stored it.
    await sweep(Date.now());
    await settle();
    expect(r.requests).toHaveLength(0);
    expect((await storedEvents(org.id, "api_key.created"))[0]?.dispatched_at).toBeNull();

    const later = Date.now() + 60_000;
    await sweep(later);
    await waitFor(() => r.requests.length === 1);
    expect(r.requests[0]?.headers["webhook-id"]).toBe(before?.id);
    expect(r.requests[0]?.body).toBe(before?.payload);
    expect((await storedEvents(org.id, "api_key.created"))[0]?.dispatched_at).toBe(later);

    // Swept once: a later run sends nothing again.
    await sweep(later + 60_000);
    await settle();
    expect(r.requests).toHaveLength(1);
    await expectDelivered(endpoint.id, org.key, 1);
  });
});
