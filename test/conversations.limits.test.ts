import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Conversation } from "../src/durable-objects/conversation";
import { EVENT_RETENTION_MS } from "../src/durable-objects/conversation/limits";
import { freshOrg } from "./helpers/auth";
import { api, KEYS } from "./helpers/http";
import { connect, createConversation, type Socket } from "./helpers/ws";

/**
 * The limits, run by the conversation's alarm: `runDurableObjectAlarm` fires it now, whatever time
 * it was set for, and the object does the action it planned for that alarm.
 */

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const stubOf = (id: string) => env.CONVERSATION.getByName(id) as DurableObjectStub<Conversation>;

async function joined(id: string) {
  const socket = await connect(id);
  sockets.push(socket);
  await socket.next("session.ready");
  return socket;
}

const indexRow = (id: string) =>
  env.DB.prepare("SELECT status, end_reason, started_at, ended_at FROM conversations WHERE id = ?").bind(id).first<{
    status: string;
    end_reason: string | null;
    started_at: number | null;
    ended_at: number | null;
  }>();

describe("max_duration_s", () => {
  it("warns at half time when under a minute, then ends: session.ended, sockets closed with 1000, index updated", async () => {
    const conv = await createConversation({ max_duration_s: 30, idle_timeout_s: 600 });
    const socket = await joined(conv.id);
    expect(await runDurableObjectAlarm(stubOf(conv.id))).toBe(true);
    expect(await socket.next("session.expiring")).toMatchObject({ reason: "max_duration", seconds_left: 15 });
    expect(await runDurableObjectAlarm(stubOf(conv.id))).toBe(true);
    expect(await socket.next("session.ended")).toMatchObject({ reason: "max_duration" });
    expect((await socket.closedBy())?.code).toBe(1000);
    expect(await indexRow(conv.id)).toMatchObject({ status: "ended", end_reason: "max_duration" });
    const got = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { status: string; end_reason: string };
    expect(got).toMatchObject({ status: "ended", end_reason: "max_duration" });
  });

  it("warns 30 seconds before longer limits", async () => {
    const conv = await createConversation({ max_duration_s: 60, idle_timeout_s: 600 });
    const socket = await joined(conv.id);
    await runDurableObjectAlarm(stubOf(conv.id));
    expect(await socket.next("session.expiring")).toMatchObject({ reason: "max_duration", seconds_left: 30 });
  });
});

describe("idle_timeout_s", () => {
  it("warns, and ends a conversation nobody speaks in", async () => {
    const conv = await createConversation({ max_duration_s: 3600, idle_timeout_s: 10 });
    const socket = await joined(conv.id);
    await runDurableObjectAlarm(stubOf(conv.id));
    expect(await socket.next("session.expiring")).toMatchObject({ reason: "idle_timeout", seconds_left: 5 });
    await runDurableObjectAlarm(stubOf(conv.id));
    expect(await socket.next("session.ended")).toMatchObject({ reason: "idle_timeout" });
    expect(await indexRow(conv.id)).toMatchObject({ status: "ended", end_reason: "idle_timeout" });
  });

  it("user input starts the idle clock again: the next alarm warns again instead of ending", async () => {
    const conv = await createConversation({ max_duration_s: 3600, idle_timeout_s: 120 });
    const socket = await joined(conv.id);
    await runDurableObjectAlarm(stubOf(conv.id));
    expect(await socket.next("session.expiring")).toMatchObject({ reason: "idle_timeout", seconds_left: 30 });
    socket.send({ type: "input.text", text: "I'm still here." });
    await socket.next("metrics.turn");
    await runDurableObjectAlarm(stubOf(conv.id));
    const next = await socket.nextLogged();
    expect(next).toMatchObject({ type: "session.expiring", reason: "idle_timeout" });
    expect(socket.closed).toBeNull();
  });
});

describe("usage and housekeeping", () => {
  it("counts the org's conversation seconds when a started conversation ends; an unstarted one counts none", async () => {
    const org = await freshOrg("enterprise");
    const started = await createConversation({}, org.key);
    const socket = await connect(started.id, { key: org.key });
    sockets.push(socket);
    await socket.next("session.ready");
    await vi.waitFor(async () => expect((await indexRow(started.id))?.started_at).not.toBeNull());
    await new Promise((r) => setTimeout(r, 1100));
    await api(`/v1/conversations/${started.id}/end`, { method: "POST", key: org.key });
    const unstarted = await createConversation({}, org.key);
    await api(`/v1/conversations/${unstarted.id}/end`, { method: "POST", key: org.key });

    // (Its requests are metered too, apart: test/usage.test.ts.)
    const usage = await env.DB.prepare("SELECT metric, quantity FROM usage WHERE org_id = ? AND metric <> 'requests'")
      .bind(org.id)
      .all<{ metric: string; quantity: number }>();
    expect(usage.results).toHaveLength(1);
    const row = await indexRow(started.id);
    const seconds = Math.ceil(((row?.ended_at ?? 0) - (row?.started_at ?? 0)) / 1000);
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(usage.results[0]).toEqual({ metric: "conversation_seconds", quantity: seconds });
  });

  it("after the end, the alarm drops events older than the retention, keeping the newest", async () => {
    const conv = await createConversation({}, KEYS.demo);
    const socket = await joined(conv.id);
    socket.send({ type: "avatar.speak", text: "Short." });
    await socket.next("metrics.turn");
    await api(`/v1/conversations/${conv.id}/end`, { method: "POST" });
    const stub = stubOf(conv.id);
    const count = () =>
      runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ n: number; last: number }>("SELECT count(*) AS n, max(seq) AS last FROM events").one());
    const before = await count();
    expect(before.n).toBeGreaterThan(3);
    // Age every event past the retention.
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE events SET ts = ts - ?", EVENT_RETENTION_MS + 1000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await count()).toEqual({ n: 1, last: before.last });
  });
});
