/**
 * The webhook-endpoint routes over HTTP: create (secret shown once, no-store), validation and the
 * URL policy, list paging, retrieve, update, delete, secret rotation (two signatures during the
 * overlap, one after), test events and the deliveries log, and auth and org scope on every route.
 * Deliveries reach fake receivers (test/helpers/webhooks.ts) through the simulated queue.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freshOrg } from "./helpers/auth";
import type { List } from "./helpers/fixtures";
import { api, expectError, KEYS } from "./helpers/http";
import { createEndpoint, type Delivery, type Received, Receivers, uniqueName, waitFor } from "./helpers/webhooks";

interface Endpoint {
  id: string;
  object: "webhook_endpoint";
  url: string;
  description: string | null;
  enabled_events: string[];
  disabled: boolean;
  disabled_at: string | null;
  disabled_reason: string | null;
  secret_rotation_ends_at: string | null;
  created_at: string;
  updated_at: string;
  secret?: string;
}
interface TestEvent {
  id: string;
  object: "event";
  type: string;
  created_at: string;
  data: { webhook_endpoint_id: string; message: string };
}

const FIELDS = [
  "id",
  "object",
  "url",
  "description",
  "enabled_events",
  "disabled",
  "disabled_at",
  "disabled_reason",
  "secret_rotation_ends_at",
  "created_at",
  "updated_at",
];
const DELIVERY_FIELDS = [
  "id",
  "object",
  "endpoint_id",
  "event_id",
  "event_type",
  "attempt",
  "success",
  "status_code",
  "latency_ms",
  "response_body",
  "error",
  "next_retry_at",
  "created_at",
];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const SECRET = /^whsec_[A-Za-z0-9+/]+=*$/;
const ulidId = (prefix: string) => new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);
const HOOK_URL = "https://hooks.example.com/x";
const BAD_KEY = `av_test_${"x".repeat(40)}`;

/** A fresh org per test, with a limit no test here comes near. */
const org = () => freshOrg("enterprise", 100_000);

const call = (method: string, path: string, key: string, body?: unknown) =>
  api(path, body === undefined ? { method, key } : { method, key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const ep = (id: string, rest = "") => `/v1/webhook-endpoints/${id}${rest}`;

const create = (body: unknown, key: string) => call("POST", "/v1/webhook-endpoints", key, body);
const get = async (id: string, key: string) => {
  const res = await call("GET", ep(id), key);
  expect(res.status).toBe(200);
  return (await res.json()) as Endpoint;
};
const patch = async (id: string, body: unknown, key: string) => {
  const res = await call("PATCH", ep(id), key, body);
  expect(res.status).toBe(200);
  return (await res.json()) as Endpoint;
};
const list = async (key: string, query = "") => {
  const res = await call("GET", `/v1/webhook-endpoints${query}`, key);
  expect(res.status).toBe(200);
  return (await res.json()) as List<Endpoint>;
};
const deliveries = async (id: string, key: string) => {
  const res = await call("GET", ep(id, "/deliveries"), key);
  expect(res.status).toBe(200);
  return (await res.json()) as List<Delivery>;
};
const sendTest = async (id: string, key: string) => {
  const res = await call("POST", ep(id, "/test"), key);
  expect(res.status).toBe(202);
  const text = await res.text();
  return { text, event: JSON.parse(text) as TestEvent };
};
const withoutSecret = ({ secret: _secret, ...rest }: Endpoint) => rest;
const secondsFromNow = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;

/** Whether `secret` verifies this delivery with only `signature` in its webhook-signature header. */
const verifies = (secret: string, req: Received, signature: string) => {
  try {
    new Webhook(secret).verify(req.body, { ...req.headers, "webhook-signature": signature });
    return true;
  } catch {
    return false;
  }
};

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

describe("POST /v1/webhook-endpoints", () => {
  it("creates an endpoint: 201, no-store, every field, and the signing secret (32 bytes) this once", async () => {
    const { key } = await org();
    const res = await create({ url: HOOK_URL, description: "Billing", enabled_events: ["conversation.ended", "api_key.created"] }, key);
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as Endpoint;
    expect(Object.keys(body)).toEqual([...FIELDS, "secret"]);
    expect(body).toEqual({
      id: expect.stringMatching(ulidId("we")),
      object: "webhook_endpoint",
      url: HOOK_URL,
      description: "Billing",
      enabled_events: ["conversation.ended", "api_key.created"],
      disabled: false,
      disabled_at: null,
      disabled_reason: null,
      secret_rotation_ends_at: null,
      created_at: expect.stringMatching(ISO),
      updated_at: body.created_at,
      secret: expect.stringMatching(SECRET),
    });
    expect(Math.abs(secondsFromNow(body.created_at))).toBeLessThan(5);
    expect(atob((body.secret ?? "").slice("whsec_".length))).toHaveLength(32);

    // Retrieving it never shows the secret again.
    const fetched = await get(body.id, key);
    expect(Object.keys(fetched)).toEqual(FIELDS);
    expect(fetched).toEqual(withoutSecret(body));

    // Each endpoint has its own secret.
    const other = (await (await create({ url: HOOK_URL, enabled_events: ["*"] }, key)).json()) as Endpoint;
    expect(other.secret).toMatch(SECRET);
    expect(other.secret).not.toBe(body.secret);
    expect(other.id).not.toBe(body.id);
  });

  it("normalises enabled_events: `*` stands alone, duplicates go; description is trimmed or null", async () => {
    const { key } = await org();
    const all = (await (await create({ url: HOOK_URL, enabled_events: ["*", "api_key.created"] }, key)).json()) as Endpoint;
    expect(all.enabled_events).toEqual(["*"]);
    expect(all.description).toBeNull();
    const allLast = (await (await create({ url: HOOK_URL, enabled_events: ["api_key.created", "*"] }, key)).json()) as Endpoint;
    expect(allLast.enabled_events).toEqual(["*"]);

    const res = await create({ url: HOOK_URL, description: "  Ops  ", enabled_events: ["api_key.created", "api_key.revoked", "api_key.created"] }, key);
    expect(res.status).toBe(201);
    const deduped = (await res.json()) as Endpoint;
    expect(deduped.enabled_events).toEqual(["api_key.created", "api_key.revoked"]);
    expect(deduped.description).toBe("Ops");
    expect((await get(deduped.id, key)).enabled_events).toEqual(["api_key.created", "api_key.revoked"]);
  });
});

describe("validation", () => {
  let key: string;
  beforeAll(async () => {
    key = (await org()).key;
  });
  const invalid = (param: string) => ({ type: "invalid_request", code: "parameter.invalid", param });

  it("a missing url or enabled_events is 400 parameter.missing naming it", async () => {
    await expectError(await create({ enabled_events: ["*"] }, key), 400, { type: "invalid_request", code: "parameter.missing", param: "url" });
    await expectError(await create({ url: HOOK_URL }, key), 400, { type: "invalid_request", code: "parameter.missing", param: "enabled_events" });
  });

  it("an unknown event type is 400 parameter.invalid at its index", async () => {
    await expectError(await create({ url: HOOK_URL, enabled_events: ["conversation.exploded"] }, key), 400, invalid("enabled_events.0"));
    await expectError(await create({ url: HOOK_URL, enabled_events: ["api_key.created", "api_key.*"] }, key), 400, invalid("enabled_events.1"));
  });

  it("an empty or non-list enabled_events is 400 parameter.invalid", async () => {
    await expectError(await create({ url: HOOK_URL, enabled_events: [] }, key), 400, invalid("enabled_events"));
    await expectError(await create({ url: HOOK_URL, enabled_events: "*" }, key), 400, invalid("enabled_events"));
  });

  it("a url that is not a string, or too long, is 400 parameter.invalid", async () => {
    await expectError(await create({ url: 42, enabled_events: ["*"] }, key), 400, invalid("url"));
    await expectError(await create({ url: `https://hooks.example.com/${"a".repeat(2048)}`, enabled_events: ["*"] }, key), 400, invalid("url"));
  });

  it("an unknown field is 400 parameter.unknown naming it", async () => {
    await expectError(await create({ url: HOOK_URL, enabled_events: ["*"], secret: "whsec_mine" }, key), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "secret",
    });
  });

  it("a body that is not JSON is 400 request.invalid_json", async () => {
    const res = await api("/v1/webhook-endpoints", {
      method: "POST",
      key,
      headers: { "Content-Type": "application/json" },
      body: '{"url": "https://hooks.example.com/x",',
    });
    await expectError(res, 400, { type: "invalid_request", code: "request.invalid_json" });
  });

  it.each([
    "http://example.com/hook",
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://10.0.0.1",
    "https://192.168.1.1",
    "https://172.16.0.1",
    "https://169.254.169.254/latest",
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://0x7f.1/",
    "https://foo.internal/",
    "https://user:pw@example.com/",
    "not-a-url",
  ])("refuses %s: 400 parameter.invalid, param url", async (url) => {
    const error = await expectError(await create({ url, enabled_events: ["*"] }, key), 400, invalid("url"));
    expect(error.message).toMatch(/^'url' must /);
  });

  it("stored none of the refused endpoints, and accepts a public https URL", async () => {
    expect((await list(key)).data).toEqual([]);
    const res = await create({ url: "https://hooks.example.com/x", enabled_events: ["*"] }, key);
    expect(res.status).toBe(201);
    expect(((await res.json()) as Endpoint).url).toBe("https://hooks.example.com/x");
  });

  it("PATCH refuses a bad url with 400 param url, a bad field likewise, and changes nothing", async () => {
    const { key: own } = await org();
    const created = (await (await create({ url: HOOK_URL, enabled_events: ["*"] }, own)).json()) as Endpoint;
    await expectError(await call("PATCH", ep(created.id), own, { url: "https://169.254.169.254/latest" }), 400, invalid("url"));
    await expectError(await call("PATCH", ep(created.id), own, { url: "http://hooks.example.com/x" }), 400, invalid("url"));
    await expectError(await call("PATCH", ep(created.id), own, { enabled_events: [] }), 400, invalid("enabled_events"));
    await expectError(await call("PATCH", ep(created.id), own, { enabled_events: ["nope"] }), 400, invalid("enabled_events.0"));
    await expectError(await call("PATCH", ep(created.id), own, { disabled: "yes" }), 400, invalid("disabled"));
    await expectError(await call("PATCH", ep(created.id), own, { secret: "whsec_mine" }), 400, {
      type: "invalid_request",
      code: "parameter.unknown",
      param: "secret",
    });
    expect(await get(created.id, own)).toEqual(withoutSecret(created));
  });
});

describe("GET /v1/webhook-endpoints", () => {
  it("lists newest first in cursor pages that visit each endpoint once, never with a secret", async () => {
    const { key } = await org();
    const created: Endpoint[] = [];
    for (const name of ["one", "two", "three"]) {
      created.unshift((await (await create({ url: `https://${name}.example.com/hook`, enabled_events: ["*"] }, key)).json()) as Endpoint);
    }
    const ids = created.map((e) => e.id);

    const whole = await list(key);
    expect(whole).toMatchObject({ object: "list", has_more: false, next_cursor: null });
    expect(whole.data).toEqual(created.map(withoutSecret));
    for (const item of whole.data) expect(Object.keys(item)).toEqual(FIELDS);
    const dump = JSON.stringify(whole);
    expect(dump).not.toContain('secret"');
    for (const e of created) expect(dump).not.toContain((e.secret ?? "").slice(6));

    const first = await list(key, "?limit=2");
    expect(first.data.map((e) => e.id)).toEqual(ids.slice(0, 2));
    expect(first).toMatchObject({ object: "list", has_more: true, next_cursor: ids[1] });
    const second = await list(key, `?limit=2&starting_after=${first.next_cursor}`);
    expect(second.data.map((e) => e.id)).toEqual(ids.slice(2));
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    const past = await list(key, `?starting_after=${ids[2]}`);
    expect(past).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
  });

  it("an unknown cursor, or another org's endpoint as cursor, is 400 param starting_after; a bad limit 400 param limit", async () => {
    const { key } = await org();
    const other = await org();
    await create({ url: HOOK_URL, enabled_events: ["*"] }, key);
    const foreign = await createEndpoint({ url: HOOK_URL }, other.key);
    const cursorError = { type: "invalid_request", code: "parameter.invalid", param: "starting_after" };
    await expectError(await call("GET", "/v1/webhook-endpoints?starting_after=we_01JD0000000000000000000000", key), 400, cursorError);
    await expectError(await call("GET", `/v1/webhook-endpoints?starting_after=${foreign.id}`, key), 400, cursorError);
    for (const limit of ["0", "101", "two"]) {
      await expectError(await call("GET", `/v1/webhook-endpoints?limit=${limit}`, key), 400, {
        type: "invalid_request",
        code: "parameter.invalid",
        param: "limit",
      });
    }
  });
});

describe("retrieve, update and delete", () => {
  it("PATCH changes only the fields sent and moves updated_at", async () => {
    const { key } = await org();
    const created = (await (await create({ url: HOOK_URL, description: "Before", enabled_events: ["conversation.ended"] }, key)).json()) as Endpoint;
    // Timestamps have second precision: move the stored ones an hour back so the change shows.
    const hourAgo = Date.now() - 3_600_000;
    await env.DB.prepare("UPDATE webhook_endpoints SET created_at = ?, updated_at = ? WHERE id = ?").bind(hourAgo, hourAgo, created.id).run();
    const before = await get(created.id, key);
    expect(before.updated_at).toBe(before.created_at);

    const urlOnly = await patch(created.id, { url: "https://new.example.com/hooks" }, key);
    expect(urlOnly).toEqual({ ...before, url: "https://new.example.com/hooks", updated_at: expect.stringMatching(ISO) });
    expect(Date.parse(urlOnly.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
    expect(Math.abs(secondsFromNow(urlOnly.updated_at))).toBeLessThan(5);

    const events = await patch(created.id, { enabled_events: ["api_key.revoked", "api_key.revoked", "conversation.started"] }, key);
    expect(events.enabled_events).toEqual(["api_key.revoked", "conversation.started"]);
    expect(events).toMatchObject({ url: "https://new.example.com/hooks", description: "Before", created_at: before.created_at });

    const described = await patch(created.id, { description: "After" }, key);
    expect(described).toMatchObject({ description: "After", enabled_events: ["api_key.revoked", "conversation.started"] });
    expect((await patch(created.id, { description: null }, key)).description).toBeNull();
    expect((await patch(created.id, { enabled_events: ["*", "webhook.test"] }, key)).enabled_events).toEqual(["*"]);

    const fetched = await get(created.id, key);
    expect(fetched).toMatchObject({ id: created.id, url: "https://new.example.com/hooks", description: null, enabled_events: ["*"], disabled: false });
    expect(fetched.created_at).toBe(before.created_at);
  });

  it("PATCH disabled: true disables it manually; disabled: false enables it again, whatever disabled it", async () => {
    const { key } = await org();
    const created = await createEndpoint({ url: HOOK_URL }, key);

    const off = await patch(created.id, { disabled: true }, key);
    expect(off).toMatchObject({ disabled: true, disabled_reason: "manual", disabled_at: expect.stringMatching(ISO) });
    expect(Math.abs(secondsFromNow(off.disabled_at ?? ""))).toBeLessThan(5);
    expect(await get(created.id, key)).toEqual(off);

    const on = await patch(created.id, { disabled: false }, key);
    expect(on).toMatchObject({ disabled: false, disabled_at: null, disabled_reason: null, url: HOOK_URL });

    // Disabled by the delivery side (a receiver answered 410): PATCH disabled: false still enables it.
    await env.DB.prepare("UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = 'gone' WHERE id = ?").bind(Date.now(), created.id).run();
    expect(await get(created.id, key)).toMatchObject({ disabled: true, disabled_reason: "gone" });
    expect(await patch(created.id, { disabled: false }, key)).toMatchObject({ disabled: false, disabled_at: null, disabled_reason: null });
  });

  it("DELETE answers {id, object, deleted: true}; then the endpoint is 404 everywhere and gone from the list", async () => {
    const { key } = await org();
    const kept = await createEndpoint({ url: HOOK_URL }, key);
    const doomed = await createEndpoint({ url: HOOK_URL }, key);
    const res = await call("DELETE", ep(doomed.id), key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: doomed.id, object: "webhook_endpoint", deleted: true });

    const notFound = { type: "not_found", code: "webhook_endpoint.not_found" };
    await expectError(await call("GET", ep(doomed.id), key), 404, notFound);
    await expectError(await call("DELETE", ep(doomed.id), key), 404, notFound);
    await expectError(await call("PATCH", ep(doomed.id), key, { description: "x" }), 404, notFound);
    await expectError(await call("POST", ep(doomed.id, "/test"), key), 404, notFound);
    expect((await list(key)).data.map((e) => e.id)).toEqual([kept.id]);
  });
});

describe("POST /v1/webhook-endpoints/{id}/rotate-secret", () => {
  it("answers a new secret (no-store); for 24 h both secrets sign, then only the new one", async () => {
    const { key } = await org();
    const receiver = receivers.add(uniqueName("rotate"));
    const created = await createEndpoint({ url: receiver.url, enabled_events: ["conversation.ended"] }, key);
    const oldSecret = created.secret;

    const res = await call("POST", ep(created.id, "/rotate-secret"), key);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const rotated = (await res.json()) as Endpoint;
    expect(Object.keys(rotated)).toEqual([...FIELDS, "secret"]);
    expect(rotated.secret).toMatch(SECRET);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(atob((rotated.secret ?? "").slice("whsec_".length))).toHaveLength(32);
    expect(rotated).toMatchObject({ id: created.id, url: receiver.url, enabled_events: ["conversation.ended"], disabled: false });
    expect(rotated.secret_rotation_ends_at).toMatch(ISO);
    expect(Math.abs(secondsFromNow(rotated.secret_rotation_ends_at ?? "") - 86_400)).toBeLessThan(5);
    const newSecret = rotated.secret ?? "";

    const fetched = await get(created.id, key);
    expect(fetched.secret_rotation_ends_at).toBe(rotated.secret_rotation_ends_at);
    expect(Object.keys(fetched)).toEqual(FIELDS);

    // During the overlap: two v1 entries, the new secret's first.
    await sendTest(created.id, key);
    await waitFor(() => receiver.requests.length === 1);
    const during = receiver.requests[0] as Received;
    const entries = (during.headers["webhook-signature"] ?? "").split(" ");
    expect(entries).toHaveLength(2);
    for (const entry of entries) expect(entry).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const [first = "", second = ""] = entries;
    expect([verifies(newSecret, during, first), verifies(oldSecret, during, first)]).toEqual([true, false]);
    expect([verifies(newSecret, during, second), verifies(oldSecret, during, second)]).toEqual([false, true]);

    // The overlap over: one entry, and only the new secret verifies it.
    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, created.id)
      .run();
    expect((await get(created.id, key)).secret_rotation_ends_at).toBeNull();
    await sendTest(created.id, key);
    await waitFor(() => receiver.requests.length === 2);
    const after = receiver.requests[1] as Received;
    const header = after.headers["webhook-signature"] ?? "";
    expect(header.split(" ")).toHaveLength(1);
    expect([verifies(newSecret, after, header), verifies(oldSecret, after, header)]).toEqual([true, false]);
  });

  it("rotating again within the overlap keeps two secrets at most: the newest two", async () => {
    const { key } = await org();
    const receiver = receivers.add(uniqueName("rotate2"));
    const created = await createEndpoint({ url: receiver.url }, key);
    const second = ((await (await call("POST", ep(created.id, "/rotate-secret"), key)).json()) as Endpoint).secret ?? "";
    const third = ((await (await call("POST", ep(created.id, "/rotate-secret"), key)).json()) as Endpoint).secret ?? "";
    expect(new Set([created.secret, second, third]).size).toBe(3);

    await sendTest(created.id, key);
    await waitFor(() => receiver.requests.length === 1);
    const req = receiver.requests[0] as Received;
    const [a = "", b = "", ...rest] = (req.headers["webhook-signature"] ?? "").split(" ");
    expect(rest).toEqual([]);
    expect(verifies(third, req, a)).toBe(true);
    expect(verifies(second, req, b)).toBe(true);
    expect(verifies(created.secret, req, `${a} ${b}`)).toBe(false);
  });
});

describe("POST /v1/webhook-endpoints/{id}/test", () => {
  it("answers 202 with the webhook.test event and delivers exactly that body, signed, to the endpoint", async () => {
    const { key } = await org();
    const receiver = receivers.add(uniqueName("test"));
    const created = await createEndpoint({ url: receiver.url, enabled_events: ["*"] }, key);

    const { text, event } = await sendTest(created.id, key);
    expect(Object.keys(event)).toEqual(["id", "object", "type", "created_at", "data"]);
    expect(event).toEqual({
      id: expect.stringMatching(ulidId("evt")),
      object: "event",
      type: "webhook.test",
      created_at: expect.stringMatching(ISO),
      data: { webhook_endpoint_id: created.id, message: expect.any(String) },
    });
    expect(event.data.message.length).toBeGreaterThan(0);
    expect(Math.abs(secondsFromNow(event.created_at))).toBeLessThan(5);

    await waitFor(() => receiver.requests.length === 1);
    const req = receiver.requests[0] as Received;
    expect(req.url).toBe(receiver.url);
    expect(req.body).toBe(text);
    expect(req.headers["webhook-id"]).toBe(event.id);
    expect(req.headers["content-type"]).toMatch(/^application\/json/);
    expect(req.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(Math.abs(Number(req.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(new Webhook(created.secret).verify(req.body, req.headers)).toEqual(event);

    // The event is recorded and listed like any other.
    const events = await call("GET", "/v1/events?type=webhook.test", key);
    expect(events.status).toBe(200);
    expect(((await events.json()) as List<TestEvent>).data).toEqual([event]);
    const one = await call("GET", `/v1/events/${event.id}`, key);
    expect(one.status).toBe(200);
    expect(await one.text()).toBe(text);
  });

  it("goes to this endpoint only, even while it is disabled and though it does not subscribe to webhook.test", async () => {
    const { key } = await org();
    const target = receivers.add(uniqueName("target"));
    const bystander = receivers.add(uniqueName("bystander"));
    const endpoint = await createEndpoint({ url: target.url, enabled_events: ["conversation.ended"] }, key);
    await createEndpoint({ url: bystander.url, enabled_events: ["*"] }, key);
    expect((await patch(endpoint.id, { disabled: true }, key)).disabled).toBe(true);

    const { event } = await sendTest(endpoint.id, key);
    await waitFor(() => target.requests.length === 1);
    expect(target.requests[0]?.headers["webhook-id"]).toBe(event.id);
    expect(JSON.parse(target.requests[0]?.body ?? "")).toMatchObject({ type: "webhook.test", data: { webhook_endpoint_id: endpoint.id } });
    await waitFor(async () => (await deliveries(endpoint.id, key)).data.length === 1);
    // Still disabled: the test did not enable it; and the org's other endpoint got nothing.
    expect(await get(endpoint.id, key)).toMatchObject({ disabled: true, disabled_reason: "manual" });
    await new Promise((r) => setTimeout(r, 300));
    expect(bystander.requests).toHaveLength(0);
    expect(target.requests).toHaveLength(1);
  });
});

describe("GET /v1/webhook-endpoints/{id}/deliveries", () => {
  it("is empty at first, then lists the attempt with the first 1 KiB of the receiver's answer", async () => {
    const { key } = await org();
    const answer = "0123456789".repeat(300);
    const receiver = receivers.add(uniqueName("log"), () => new Response(answer, { status: 200 }));
    const created = await createEndpoint({ url: receiver.url }, key);
    expect(await deliveries(created.id, key)).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });

    const { event } = await sendTest(created.id, key);
    await waitFor(() => receiver.requests.length === 1);
    let page: List<Delivery> = { object: "list", data: [], has_more: false, next_cursor: null };
    await waitFor(async () => {
      page = await deliveries(created.id, key);
      return page.data.length === 1;
    });
    expect(page).toMatchObject({ object: "list", has_more: false, next_cursor: null });
    const row = page.data[0] as Delivery;
    expect(Object.keys(row)).toEqual(DELIVERY_FIELDS);
    expect(row).toEqual({
      id: expect.stringMatching(ulidId("wd")),
      object: "webhook_delivery",
      endpoint_id: created.id,
      event_id: event.id,
      event_type: "webhook.test",
      attempt: 1,
      success: true,
      status_code: 200,
      latency_ms: expect.any(Number),
      response_body: answer.slice(0, 1024),
      error: null,
      next_retry_at: null,
      created_at: expect.stringMatching(ISO),
    });
    expect(row.response_body).toHaveLength(1024);
    expect(Number.isInteger(row.latency_ms) && row.latency_ms >= 0).toBe(true);
  });
});

describe("auth and org scope", () => {
  const ROUTES: { name: string; method: string; path: (id: string) => string; body?: unknown }[] = [
    { name: "POST /v1/webhook-endpoints", method: "POST", path: () => "/v1/webhook-endpoints", body: { url: HOOK_URL, enabled_events: ["*"] } },
    { name: "GET /v1/webhook-endpoints", method: "GET", path: () => "/v1/webhook-endpoints" },
    { name: "GET /{id}", method: "GET", path: (id) => ep(id) },
    { name: "PATCH /{id}", method: "PATCH", path: (id) => ep(id), body: { description: "hijacked" } },
    { name: "DELETE /{id}", method: "DELETE", path: (id) => ep(id) },
    { name: "POST /{id}/rotate-secret", method: "POST", path: (id) => ep(id, "/rotate-secret") },
    { name: "POST /{id}/test", method: "POST", path: (id) => ep(id, "/test") },
    { name: "GET /{id}/deliveries", method: "GET", path: (id) => ep(id, "/deliveries") },
  ];

  it.each(ROUTES)("$name: no key is 401 api_key.missing, a bad key 401 api_key.invalid", async ({ method, path, body }) => {
    const { key } = await org();
    const created = await createEndpoint({ url: HOOK_URL }, key);
    const init = body === undefined ? { method } : { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    await expectError(await api(path(created.id), { ...init, key: null }), 401, { type: "authentication", code: "api_key.missing" });
    await expectError(await api(path(created.id), { ...init, key: BAD_KEY }), 401, { type: "authentication", code: "api_key.invalid" });
    // Neither touched the endpoint, nor created one.
    expect(await get(created.id, key)).toEqual(withoutSecret(created as unknown as Endpoint));
    expect((await list(key)).data.map((e) => e.id)).toEqual([created.id]);
  });

  it("another org's endpoint is 404 webhook_endpoint.not_found on every route and not in that org's list", async () => {
    const owner = await org();
    const receiver = receivers.add(uniqueName("owned"));
    const created = await createEndpoint({ url: receiver.url }, owner.key);
    const notFound = { type: "not_found", code: "webhook_endpoint.not_found" };

    for (const intruder of [(await org()).key, KEYS.other]) {
      await expectError(await call("GET", ep(created.id), intruder), 404, notFound);
      await expectError(await call("PATCH", ep(created.id), intruder, { url: "https://evil.example.com/", disabled: true }), 404, notFound);
      await expectError(await call("DELETE", ep(created.id), intruder), 404, notFound);
      await expectError(await call("POST", ep(created.id, "/rotate-secret"), intruder), 404, notFound);
      await expectError(await call("POST", ep(created.id, "/test"), intruder), 404, notFound);
      await expectError(await call("GET", ep(created.id, "/deliveries"), intruder), 404, notFound);
      const listed = await list(intruder, "?limit=100");
      expect(listed.data.map((e) => e.id)).not.toContain(created.id);
    }

    // The owner's endpoint is untouched: same fields, no rotation, no test event sent.
    expect(await get(created.id, owner.key)).toEqual(withoutSecret(created as unknown as Endpoint));
    expect((await list(owner.key)).data.map((e) => e.id)).toEqual([created.id]);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests).toHaveLength(0);
    expect((await deliveries(created.id, owner.key)).data).toEqual([]);
  });

  it("an id that never existed is 404 webhook_endpoint.not_found", async () => {
    const { key } = await org();
    const id = "we_01JD0000000000000000000000";
    const notFound = { type: "not_found", code: "webhook_endpoint.not_found" };
    await expectError(await call("GET", ep(id), key), 404, notFound);
    await expectError(await call("POST", ep(id, "/rotate-secret"), key), 404, notFound);
    await expectError(await call("GET", ep(id, "/deliveries"), key), 404, notFound);
  });
});

/** A URL as the policy judges it: 400 parameter.invalid, param url, with a message naming the field. */
const refusedUrl = async (res: Response) => {
  const error = await expectError(res, 400, { type: "invalid_request", code: "parameter.invalid", param: "url" });
  expect(error.message).toMatch(/^'url' must /);
  return error;
};

describe("URL policy: the ranges and spellings added in hardening round two", () => {
  let key: string;
  beforeAll(async () => {
    key = (await org()).key;
  });

  it.each([
    // IPv4-translated ::ffff:0:0:0/96 (SIIT), whatever IPv4 address it carries, public ones included.
    "https://[::ffff:0:8.8.8.8]/hook",
    "https://[::ffff:0:808:808]/hook",
    "https://[0:0:0:0:ffff:0:0808:0808]/hook",
    "https://[::FFFF:0:10.0.0.1]/hook",
    "https://[::ffff:0:0:0]/",
    // Local-use NAT64 64:ff9b:1::/48.
    "https://[64:ff9b:1::808:808]/hook",
    "https://[64:ff9b:1::8.8.8.8]/hook",
    "https://[64:FF9B:1:ffff:ffff:ffff:ffff:ffff]/",
    "https://[0064:ff9b:0001::1]/",
    // Teredo 2001::/32.
    "https://[2001::1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "https://[2001:0000:ffff:ffff:ffff:ffff:ffff:ffff]/",
    // Deprecated site-local fec0::/10.
    "https://[fec0::1]/hook",
    "https://[FEC0:0:0:0:0:0:0:1]/",
    "https://[feff:ffff::1]/",
    "https://[fed0::8.8.8.8]/",
    // Names with a trailing dot.
    "https://example.com./hook",
    "https://HOOKS.Example.COM./x",
    "https://example.com../",
  ])("refuses %s: 400 parameter.invalid, param url", async (url) => {
    await refusedUrl(await create({ url, enabled_events: ["*"] }, key));
  });

  it.each([
    ["a tab", "https://exa\tmple.com/hook"],
    ["a leading tab", "\thttps://example.com/hook"],
    ["a newline", "https://example.com/ho\nok"],
    ["a carriage return", "https://example.com/\r"],
    ["a trailing newline", "https://example.com/hook\n"],
    ["NUL", "https://example.com/\u0000hook"],
    ["DEL", "https://example.com/\u007Fhook"],
    ["U+0085 (NEL, a C1 control)", "https://example.com/\u0085hook"],
    ["U+009F (the last C1 control)", "https://exam\u009Fple.com/"],
    ["U+001F", "https://example.com/?q=\u001F"],
  ])("refuses a url with %s: 400 parameter.invalid, param url, stored nothing", async (_name, url) => {
    const error = await refusedUrl(await create({ url, enabled_events: ["*"] }, key));
    expect(error.message).toMatch(/control characters/);
    // The message never carries the control character itself.
    expect(error.message).not.toMatch(/[\u0000-\u001F\u007F-\u009F]/);
  });

  it("the ranges refused before still are, their public neighbours are accepted, and none of the refused was stored", async () => {
    for (const url of [
      "https://[::ffff:127.0.0.1]/",
      "https://[::ffff:a00:1]/",
      "https://[::10.0.0.1]/",
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://[2002:c0a8:101::]/",
      "https://[fe80::abcd]/",
      "https://[febf:ffff::1]/",
      "https://[fd00::1]/",
      "https://[ff02::1]/",
      "https://100.64.0.1/",
      "https://0177.0.0.1/",
      "https://nas.home.arpa/",
      "https://localhost./",
      "https://LOCALHOST.:443/",
    ]) {
      await refusedUrl(await create({ url, enabled_events: ["*"] }, key));
    }
    expect((await list(key)).data).toEqual([]);
    // Outside the new ranges: the embedded-IPv4 forms judged by their address, Teredo's neighbour
    // 2001:1::/32, global unicast, and a name without a trailing dot.
    for (const url of [
      "https://[::ffff:8.8.8.8]/",
      "https://[64:ff9b::808:808]/",
      "https://[64:ff9b:2::1]/",
      "https://[2001:1::1]/",
      "https://[2001:4860:4860::8888]/",
      "https://[2606:4700:4700::1111]/",
      "https://[2002:808:808::]/",
      "https://example.com/",
    ]) {
      const res = await create({ url, enabled_events: ["*"] }, key);
      expect(res.status, url).toBe(201);
    }
    // And the new refusals hold for PATCH too.
    const [one] = (await list(key)).data;
    await refusedUrl(await call("PATCH", ep(one?.id ?? ""), key, { url: "https://[2001::53]/" }));
    await refusedUrl(await call("PATCH", ep(one?.id ?? ""), key, { url: "https://example.com./" }));
    await refusedUrl(await call("PATCH", ep(one?.id ?? ""), key, { url: "https://example.com/\n" }));
  });
});

describe("URLs are stored and answered in normal form", () => {
  it.each([
    ["HTTPS://Example.COM:443/a/../b", "https://example.com/b"],
    ["https://hooks.example.com", "https://hooks.example.com/"],
    ["https://Hooks.Example.com:8443/./x/%7Ey?q=a b#frag", "https://hooks.example.com:8443/x/%7Ey?q=a%20b#frag"],
    ["https://bücher.example/hook", "https://xn--bcher-kva.example/hook"],
    ["  https://example.com/padded  ", "https://example.com/padded"],
    ["https://[2606:4700:4700:0:0:0:0:1111]/", "https://[2606:4700:4700::1111]/"],
  ])("create: %s is stored as %s, and retrieved and listed so", async (sent, normal) => {
    const { key } = await org();
    const res = await create({ url: sent, enabled_events: ["*"] }, key);
    expect(res.status).toBe(201);
    const created = (await res.json()) as Endpoint;
    expect(created.url).toBe(normal);
    expect((await get(created.id, key)).url).toBe(normal);
    expect((await list(key)).data.map((e) => e.url)).toEqual([normal]);
    const row = await env.DB.prepare("SELECT url FROM webhook_endpoints WHERE id = ?").bind(created.id).first<{ url: string }>();
    expect(row?.url).toBe(normal);
  });

  it("PATCH stores and answers the new url in normal form", async () => {
    const { key } = await org();
    const created = await createEndpoint({ url: HOOK_URL }, key);
    const patched = await patch(created.id, { url: "HTTPS://New.Example.COM:443/x/./y/../z?q=1" }, key);
    expect(patched.url).toBe("https://new.example.com/x/z?q=1");
    expect((await get(created.id, key)).url).toBe("https://new.example.com/x/z?q=1");
  });

  it("a url that passes the 2048-character bound only before normalisation is 400 param url", async () => {
    const { key } = await org();
    // 600 'é' are 600 characters sent, 3,600 once percent-encoded.
    const url = `https://hooks.example.com/${"é".repeat(600)}`;
    const error = await expectError(await create({ url, enabled_events: ["*"] }, key), 400, {
      type: "invalid_request",
      code: "parameter.invalid",
      param: "url",
    });
    expect(error.message).toMatch(/2048/);
    expect((await list(key)).data).toEqual([]);
  });
});

describe("PATCH re-checks the stored url", () => {
  /** An endpoint created when its URL was fine, whose URL a laxer policy let through (written straight to D1). */
  async function legacyEndpoint(storedUrl: string) {
    const { key } = await org();
    const created = await createEndpoint({ url: HOOK_URL, enabled_events: ["conversation.ended"], description: "legacy" }, key);
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind(storedUrl, created.id).run();
    return { key, id: created.id, before: await get(created.id, key) };
  }

  it.each(["https://10.0.0.7/hook", "http://hooks.example.com/x", "https://example.com./hook", "https://[2001::1]/hook", "https://[::ffff:0:8.8.8.8]/hook"])(
    "stored %s: a PATCH of enabled_events, or of the description, is 400 param url and changes nothing",
    async (storedUrl) => {
      const { key, id, before } = await legacyEndpoint(storedUrl);
      for (const body of [{ enabled_events: ["*"] }, { description: "renamed" }, {}]) {
        const error = await expectError(await call("PATCH", ep(id), key, body), 400, { type: "invalid_request", code: "parameter.invalid", param: "url" });
        expect(error.message).toMatch(/^The stored url '.*' no longer meets the webhook URL policy: it must /);
        expect(error.message).toContain("new 'url'");
      }
      expect(await get(id, key)).toEqual(before);
    },
  );

  it("disabling is always allowed; a disabled endpoint can be edited; enabling it needs a url the policy accepts", async () => {
    const { key, id } = await legacyEndpoint("https://192.168.0.10/hook");
    const disabled = await patch(id, { disabled: true }, key);
    expect(disabled).toMatchObject({ disabled: true, disabled_reason: "manual", url: "https://192.168.0.10/hook" });
    // Left disabled: nothing is delivered, so the stored URL may stay while other fields change.
    expect(await patch(id, { description: "parked", enabled_events: ["*"] }, key)).toMatchObject({
      description: "parked",
      enabled_events: ["*"],
      disabled: true,
    });
    // Enabling it again with the refused URL is not.
    await expectError(await call("PATCH", ep(id), key, { disabled: false }), 400, { type: "invalid_request", code: "parameter.invalid", param: "url" });
    expect((await get(id, key)).disabled).toBe(true);
    // A new url with it is: checked, normalised, and the endpoint enabled.
    const fixed = await patch(id, { url: "HTTPS://Fixed.Example.COM/hook", disabled: false }, key);
    expect(fixed).toMatchObject({ url: "https://fixed.example.com/hook", disabled: false, disabled_reason: null, description: "parked" });
    expect((await patch(id, { enabled_events: ["conversation.ended"] }, key)).enabled_events).toEqual(["conversation.ended"]);
  });

  it("disabling together with other fields is allowed; a new url is still checked when disabling", async () => {
    const { key, id } = await legacyEndpoint("https://169.254.169.254/latest");
    await refusedUrl(await call("PATCH", ep(id), key, { url: "https://[fec0::1]/", disabled: true }));
    expect((await get(id, key)).disabled).toBe(false);
    expect(await patch(id, { disabled: true, description: "off" }, key)).toMatchObject({ disabled: true, description: "off" });
  });
});

describe("at most 16 endpoints per org", () => {
  const limitReached = { type: "conflict", code: "webhook_endpoint.limit_reached" };
  const count = async (orgId: string) =>
    (await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE org_id = ?").bind(orgId).first<{ n: number }>())?.n;

  it("the 17th is 409 webhook_endpoint.limit_reached and stores nothing; after a delete one more fits; other orgs are unaffected", async () => {
    const { id: orgId, key } = await org();
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push((await createEndpoint({ url: `https://e${i}.example.com/hook` }, key)).id);

    const res = await create({ url: "https://seventeen.example.com/hook", enabled_events: ["*"] }, key);
    const error = await expectError(res, 409, limitReached);
    expect(error.message).toMatch(/at most 16 webhook endpoints/);
    expect(error.message).toMatch(/[Dd]elete one/);
    expect(error.message).toMatch(/free a slot/);
    expect(await count(orgId)).toBe(16);
    expect((await list(key, "?limit=100")).data.map((e) => e.url)).not.toContain("https://seventeen.example.com/hook");

    // Another org still creates its own.
    expect((await create({ url: HOOK_URL, enabled_events: ["*"] }, (await org()).key)).status).toBe(201);

    // A refused url is still 400 at the cap (the url is checked first).
    await refusedUrl(await create({ url: "https://10.0.0.1/", enabled_events: ["*"] }, key));

    // Deleting one frees one slot, and only one.
    expect((await call("DELETE", ep(ids[3] ?? ""), key)).status).toBe(200);
    const again = await create({ url: "https://seventeen.example.com/hook", enabled_events: ["*"] }, key);
    expect(again.status).toBe(201);
    expect(((await again.json()) as Endpoint).url).toBe("https://seventeen.example.com/hook");
    await expectError(await create({ url: "https://eighteen.example.com/hook", enabled_events: ["*"] }, key), 409, limitReached);
    expect(await count(orgId)).toBe(16);
  });

  it("20 creates at once from none end with exactly 16 endpoints: 16 answered 201, 4 answered 409", async () => {
    const { id: orgId, key } = await org();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ url: `https://c${i}.example.com/hook`, enabled_events: ["*"] }, key)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([...new Array<number>(16).fill(201), ...new Array<number>(4).fill(409)]);
    for (const res of answers.filter((r) => r.status === 409)) await expectError(res, 409, limitReached);
    for (const res of answers.filter((r) => r.status === 201)) await res.body?.cancel();
    expect(await count(orgId)).toBe(16);
    expect((await list(key, "?limit=100")).data).toHaveLength(16);
  });

  it("the OpenAPI document lists webhook_endpoint.limit_reached under the create operation's 409", async () => {
    const res = await api("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, { responses: Record<string, { "x-error-codes"?: string[] }> }>> };
    const create409 = doc.paths["/v1/webhook-endpoints"]?.post?.responses["409"];
    expect(create409?.["x-error-codes"]).toContain("webhook_endpoint.limit_reached");
    // Only create can reach the cap.
    expect(doc.paths["/v1/webhook-endpoints/{endpoint_id}"]?.patch?.responses["409"]).toBeUndefined();
  });
});
