import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Conversation } from "../src/durable-objects/conversation";
import { EVENT_RETENTION_MS } from "../src/durable-objects/conversation/limits";
import { freshOrg, userJwt } from "./helpers/auth";
import { api, expectError, KEYS } from "./helpers/http";
import { connect, createConversation, Socket, socketsClosedAfterEach, upgrade } from "./helpers/ws";

/**
 * What a socket may cost and do: turns count against the org's rate limit like requests, sockets
 * per conversation are capped, a client secret (a browser's) gets less than an API key, a revoked
 * key's sockets are closed, and an ended conversation stops waking itself.
 */

const { open, track } = socketsClosedAfterEach();
afterEach(() => {
  vi.useRealTimers();
});

const stubOf = (id: string) => env.CONVERSATION.getByName(id) as DurableObjectStub<Conversation>;
const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const messagesOf = async (id: string, key: string = KEYS.demo) =>
  ((await (await api(`/v1/conversations/${id}`, { key })).json()) as { messages: { role: string; content: string }[] }).messages;

describe("turns count against the org's rate limit", () => {
  // Started at the start of a minute (the clock runs on from there), so each test is one window.
  const MINUTE = Date.UTC(2031, 2, 3, 4, 5);
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(MINUTE + 1_000);
  });

  const limiterOf = (orgId: string) => env.RATE_LIMITER.getByName(`org:${orgId}`);
  /** Units counted in the org's current window (tokens granted in leases included). */
  const counted = async (orgId: string) => (await limiterOf(orgId).windows()).find((w) => w.start === MINUTE)?.count ?? 0;
  /**
   * Spends the org's window down to `left` units, as other requests of the org would. (The Worker's
   * and the conversation's leases then hold what they hold; only `left` can still be granted.)
   */
  const leaveOnly = async (orgId: string, limit: number, left: number) => {
    while (limit - (await counted(orgId)) > left) await limiterOf(orgId).hit(limit);
  };

  it("each input.text and avatar.speak is one unit; past the limit an error event, nothing stored, nothing called", async () => {
    const org = await freshOrg("free"); // 10 a minute
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    await leaveOnly(org.id, 10, 2);
    // Two units left: two turns, of either kind, and not a third.
    socket.send({ type: "input.text", event_id: "t1", text: "Reply with one word." });
    expect((await socket.next("message.created")).reply_to).toBe("t1");
    await socket.next("metrics.turn");
    socket.send({ type: "avatar.speak", event_id: "s1", text: "Spoken." });
    expect((await socket.next("agent.response.done")).reply_to).toBe("s1");
    await socket.next("metrics.turn");
    expect(await counted(org.id)).toBe(10);

    const storedCount = (
      await runInDurableObject(stubOf(conv.id), (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one())
    ).n;
    socket.send({ type: "input.text", event_id: "over", text: "One too many." });
    const refused = await socket.next("error");
    expect(refused).toMatchObject({ code: "rate_limit.exceeded", reply_to: "over" });
    expect(refused.message).toMatch(/\(each turn counts as one\); retry in \d+ s\./);
    socket.send({ type: "avatar.speak", event_id: "over2", text: "Say this." });
    expect(await socket.next("error")).toMatchObject({ code: "rate_limit.exceeded", reply_to: "over2" });
    // Nothing else happened: no message.created, no model, no speech, nothing stored.
    await new Promise((r) => setTimeout(r, 50));
    expect(socket.events.slice(socket.position).filter((e) => e.type !== "error")).toEqual([]);
    expect((await runInDurableObject(stubOf(conv.id), (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one())).n).toBe(
      storedCount,
    );
    // The same window as the org's requests: once this isolate's lease is spent, they are refused too.
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await api("/v1/avatars", { key: org.key })).status;
    expect(status).toBe(429);
    expect(await counted(org.id)).toBe(10);
    // A new minute, a new allowance.
    vi.setSystemTime(MINUTE + 61_000);
    socket.send({ type: "input.text", event_id: "later", text: "Reply with one word." });
    expect((await socket.next("message.created")).reply_to).toBe("later");
  });

  it("a REST message past the limit is 429 rate_limit.exceeded, and the model is not asked", async () => {
    const org = await freshOrg("free"); // 10 a minute
    const conv = await createConversation({}, org.key);
    const messages = () => post(`/v1/conversations/${conv.id}/messages`, { content: "Reply with one word." }, org.key);
    const stored = async () =>
      (await runInDurableObject(stubOf(conv.id), (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one())).n;
    expect((await messages()).status).toBe(201);
    await leaveOnly(org.id, 10, 0);
    const before = await stored();
    // This isolate may still hold a token or two of its lease; then the window is spent.
    let res = await messages();
    for (let i = 0; i < 10 && res.status === 201; i++) res = await messages();
    await expectError(res, 429, { type: "rate_limit", code: "rate_limit.exceeded" });
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    const turnsLet = (await stored()) - before;
    // Refused: nothing stored for it (two messages per turn that was let through, none more).
    expect(turnsLet % 2).toBe(0);
    await messages();
    expect((await stored()) - before).toBe(turnsLet);
  });

  it("a refused turn does not interrupt the one in progress", async () => {
    const org = await freshOrg("enterprise", 20);
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    await leaveOnly(org.id, 20, 1);
    socket.send({ type: "input.text", event_id: "story", text: "Tell me a story" });
    await socket.next("avatar.audio.delta");
    socket.send({ type: "avatar.speak", event_id: "over", text: "Stop and say this." });
    expect(await socket.next("error")).toMatchObject({ code: "rate_limit.exceeded", reply_to: "over" });
    const done = await socket.next("agent.response.done", 15_000);
    expect(done.reply_to).toBe("story");
    expect(socket.ofTypes(["avatar.interrupted"])).toEqual([]);
  }, 20_000);
});

describe("sockets per conversation", () => {
  it("at most 8: the ninth gets conversation.too_many_sockets and is closed with 1008; a closed one frees its place", async () => {
    const conv = await createConversation();
    const eight = [];
    for (let i = 0; i < 8; i++) eight.push(await open(conv.id));
    const res = await upgrade(conv.id);
    expect(res.status).toBe(101);
    const ninth = new Socket(res.webSocket as WebSocket);
    track(ninth);
    const error = await ninth.next("error");
    expect(error.code).toBe("conversation.too_many_sockets");
    expect(error.message).toContain("8 sockets");
    expect((await ninth.closedBy())?.code).toBe(1008);
    expect(ninth.ofTypes(["session.ready"])).toEqual([]);
    // The others are unaffected and the conversation did not count the ninth.
    eight[0]?.send({ type: "avatar.speak", text: "Still here." });
    for (const s of eight) await s.next("metrics.turn");
    eight[0]?.close();
    await vi.waitFor(
      async () => {
        const again = await upgrade(conv.id);
        const s = new Socket(again.webSocket as WebSocket);
        track(s);
        expect((await s.next()).type).toBe("session.ready");
      },
      { timeout: 5000, interval: 100 },
    );
  });
});

describe("what a client secret may do", () => {
  it("session.ready shows a browser no metadata; a backend's socket gets it", async () => {
    const conv = await createConversation({ metadata: { user_id: "u_42", crm: "acct-9" } });
    const browser = await connect(conv.id, { token: conv.client_secret.value });
    track(browser);
    const ready = await browser.next("session.ready");
    expect(ready.conversation).not.toHaveProperty("metadata");
    expect(browser.frames[0]).not.toContain("u_42");
    expect(ready.conversation).toMatchObject({ id: conv.id, client_permissions: [] });
    const backend = await connect(conv.id);
    track(backend);
    expect((await backend.next("session.ready")).conversation).toMatchObject({ metadata: { user_id: "u_42", crm: "acct-9" } });
  });

  it("talks, interrupts and keeps alive; avatar.speak and session.end are scope.denied unless granted", async () => {
    const conv = await createConversation();
    const browser = await open(conv.id, { token: conv.client_secret.value });
    browser.send({ type: "avatar.speak", event_id: "sp", text: "I am the avatar and I say whatever the browser wants." });
    const denied = await browser.next("error");
    expect(denied).toMatchObject({ code: "scope.denied", reply_to: "sp" });
    expect(denied.message).toContain("client_permissions");
    browser.send({ type: "session.end", event_id: "end" });
    expect(await browser.next("error")).toMatchObject({ code: "scope.denied", reply_to: "end" });
    browser.send({ type: "session.keep_alive", event_id: "ka" });
    expect((await browser.next("session.keep_alive.ack")).reply_to).toBe("ka");
    browser.send({ type: "input.text", event_id: "q", text: "Tell me a story" });
    await browser.next("avatar.audio.delta");
    browser.send({ type: "avatar.interrupt" });
    expect((await browser.next("avatar.interrupted")).reply_to).toBe("q");
    expect(await messagesOf(conv.id)).not.toContainEqual(expect.objectContaining({ content: expect.stringContaining("whatever the browser wants") }));
    expect(((await (await api(`/v1/conversations/${conv.id}`)).json()) as { status: string }).status).toBe("active");
  });

  it("client_permissions grant avatar.speak and session.end", async () => {
    const conv = await createConversation({ client_permissions: ["avatar.speak", "session.end"] });
    expect(conv.client_permissions).toEqual(["avatar.speak", "session.end"]);
    const browser = await open(conv.id, { token: conv.client_secret.value });
    browser.send({ type: "avatar.speak", event_id: "sp", text: "Allowed." });
    expect((await browser.next("agent.response.done")).message.content).toBe("Allowed.");
    browser.send({ type: "session.end" });
    expect(await browser.next("session.ended")).toMatchObject({ reason: "client_ended" });
    const listed = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { client_permissions: string[] };
    expect(listed.client_permissions).toEqual(["avatar.speak", "session.end"]);
  });

  it("client_permissions are validated", async () => {
    for (const [value, param] of [
      [["bogus"], "client_permissions.0"],
      [["avatar.speak", "avatar.speak"], "client_permissions"],
      ["avatar.speak", "client_permissions"],
      [["input.text"], "client_permissions.0"],
    ] as const) {
      await expectError(await post("/v1/conversations", { avatar_id: "av_demo", client_permissions: value }), 400, {
        type: "invalid_request",
        code: "parameter.invalid",
        param,
      });
    }
  });
});

describe("revoking a key reaches its conversations", () => {
  async function keyOfDemo(name: string) {
    const token = await userJwt({ org_id: "org_demo" });
    const res = await post("/v1/api-keys", { name }, token);
    expect(res.status).toBe(201);
    const key = (await res.json()) as { id: string; secret: string };
    return { ...key, revoke: async () => expect((await api(`/v1/api-keys/${key.id}`, { method: "DELETE", key: token })).status).toBe(200) };
  }

  it("its sockets and its client secrets' sockets get api_key.revoked and are closed; others talk on; new ones are refused", async () => {
    const k = await keyOfDemo("revoked while talking");
    const conv = await createConversation({}, k.secret);
    const withKey = await open(conv.id, { key: k.secret });
    const withSecret = await open(conv.id, { token: conv.client_secret.value });
    const otherKey = await open(conv.id, { key: KEYS.demo });
    const revokedAt = Date.now();
    await k.revoke();
    for (const s of [withKey, withSecret]) {
      expect((await s.next("error", 10_000)).code).toBe("api_key.revoked");
      expect((await s.closedBy(10_000))?.code).toBe(1008);
    }
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(otherKey.closed).toBeNull();
    otherKey.send({ type: "input.text", event_id: "still", text: "Reply with one word." });
    expect((await otherKey.next("agent.response.done")).reply_to).toBe("still");
    await expectError(await upgrade(conv.id, { key: k.secret }), 401, { type: "authentication", code: "api_key.revoked" });
    await expectError(await upgrade(conv.id, { token: conv.client_secret.value }), 401, { type: "authentication", code: "api_key.revoked" });
  });

  it("a socket the fan-out missed is refused at its next turn and closed", async () => {
    const org = await freshOrg("enterprise", 1000);
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    // Only the org's limiter hears of it (as when the conversation's object was not reached).
    await env.RATE_LIMITER.getByName(`org:${org.id}`).revokeKey(org.keyId);
    socket.send({ type: "input.text", event_id: "q", text: "Hello?" });
    expect(await socket.next("error")).toMatchObject({ code: "api_key.revoked", reply_to: "q" });
    expect((await socket.closedBy())?.code).toBe(1008);
    expect(socket.ofTypes(["message.created"])).toEqual([]);
  });
});

describe("usage of turns", () => {
  it("speech characters and model tokens are counted for the org", async () => {
    const org = await freshOrg("enterprise", 1000);
    const conv = await createConversation({}, org.key);
    const socket = await open(conv.id, { key: org.key });
    socket.send({ type: "avatar.speak", text: "Hello there." });
    await socket.next("metrics.turn");
    socket.send({ type: "input.text", text: "Reply with two sentences." });
    const done = await socket.next("agent.response.done");
    await socket.next("metrics.turn");
    const usage = async () =>
      Object.fromEntries(
        (await env.DB.prepare("SELECT metric, quantity FROM usage WHERE org_id = ?").bind(org.id).all<{ metric: string; quantity: number }>()).results.map(
          (r) => [r.metric, r.quantity],
        ),
      );
    const spoken = [..."Hello there."].length + [...done.message.content.replace(/\s+/g, "")].length;
    await vi.waitFor(async () => expect((await usage()).llm_output_tokens).toBeGreaterThan(0));
    const counted = await usage();
    // Sentences are synthesized without the spaces between them.
    expect(counted.tts_characters).toBeGreaterThanOrEqual(spoken);
    expect(counted.tts_characters).toBeLessThanOrEqual([..."Hello there."].length + [...done.message.content].length);
    expect(counted.llm_input_tokens).toBeGreaterThan(0);
    expect(counted.conversation_seconds).toBeUndefined();
  });
});

describe("an ended conversation goes quiet", () => {
  /** A conversation that said one sentence and was ended: its object. */
  async function endedAfterOneTurn() {
    const conv = await createConversation();
    const socket = await open(conv.id);
    socket.send({ type: "avatar.speak", text: "Short." });
    await socket.next("metrics.turn");
    await api(`/v1/conversations/${conv.id}/end`, { method: "POST" });
    return stubOf(conv.id);
  }

  it("its alarms stop once the log is pruned past the retention", async () => {
    const stub = await endedAfterOneTurn();
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE events SET ts = ts - ?", EVENT_RETENTION_MS + 1000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Only the newest event is left: nothing more to do, no alarm, however often one is tried.
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    for (let i = 0; i < 3; i++) expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one().n)).toBe(1);
  });

  it("an ended conversation with recent events plans exactly one pruning, at the retention", async () => {
    const stub = await endedAfterOneTurn();
    const oldest = await runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ ts: number }>("SELECT min(ts) AS ts FROM events").one().ts);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(oldest + EVENT_RETENTION_MS);
  });
});
