import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { freshOrg } from "./helpers/auth";
import { api, expectError } from "./helpers/http";
import { createConversation, Socket, socketsClosedAfterEach, upgrade } from "./helpers/ws";

/**
 * Active conversations per org are capped by tier (free 2, creator 5, pro 20, enterprise its own
 * number): a conversation holds a place from its first socket until it ends, so one created and
 * never joined costs nothing. Over the cap, creating is `429 conversation.concurrency_limit`, and a
 * first socket gets that error and is closed with 1008.
 */

const { track } = socketsClosedAfterEach();

const limiterOf = (orgId: string) => env.RATE_LIMITER.getByName(`org:${orgId}`);

/** The first event of a socket to the conversation: `session.ready`, or the refusal's `error`. */
async function join(conversationId: string, key: string) {
  const res = await upgrade(conversationId, { key });
  expect(res.status).toBe(101);
  const socket = track(new Socket(res.webSocket as WebSocket));
  const first = (await socket.next()) as { type: string; code?: string; message?: string };
  return { socket, first };
}

const end = (id: string, key: string) => api(`/v1/conversations/${id}/end`, { method: "POST", key });

describe("active conversations per org", () => {
  it("at a cap of 2: created ones cost nothing, a third first socket and a fourth create are refused, an end frees a place", async () => {
    // The free tier's number, on an org whose rate limit leaves room for the test's requests.
    const org = await freshOrg("enterprise", 1000);
    await env.DB.prepare("UPDATE orgs SET max_concurrent_conversations = 2 WHERE id = ?").bind(org.id).run();
    const convs = [];
    for (let i = 0; i < 3; i++) convs.push(await createConversation({}, org.key));
    const [a, b, c] = convs as [(typeof convs)[0], (typeof convs)[0], (typeof convs)[0]];
    expect((await join(a.id, org.key)).first.type).toBe("session.ready");
    // A second socket to the same conversation takes no second place.
    expect((await join(a.id, org.key)).first.type).toBe("session.ready");
    expect((await join(b.id, org.key)).first.type).toBe("session.ready");
    expect(await limiterOf(org.id).activeConversations()).toBe(2);

    const third = await join(c.id, org.key);
    expect(third.first).toMatchObject({ type: "error", code: "conversation.concurrency_limit" });
    expect(third.first.message).toContain("2 active conversations");
    expect((await third.socket.closedBy())?.code).toBe(1008);
    // Refused before it started: no start in the index, no seconds.
    const record = (await (await api(`/v1/conversations/${c.id}`, { key: org.key })).json()) as { started_at: string | null; status: string };
    expect(record).toMatchObject({ started_at: null, status: "active" });

    const res = await api("/v1/conversations", {
      method: "POST",
      key: org.key,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ avatar_id: "av_demo" }),
    });
    const body = await expectError(res, 429, { type: "rate_limit", code: "conversation.concurrency_limit" });
    expect(body.message).toContain("(2)");
    expect(res.headers.get("X-Should-Retry")).toBe("false");

    // Ending one frees its place (the object tells the org's limiter as it ends).
    expect((await end(a.id, org.key)).status).toBe(200);
    await vi.waitFor(async () => expect(await limiterOf(org.id).activeConversations()).toBe(1), { timeout: 5000, interval: 50 });
    expect((await join(c.id, org.key)).first.type).toBe("session.ready");
    expect(await limiterOf(org.id).activeConversations()).toBe(2);
  });

  it("exact under concurrent first sockets: a cap of 5, 20 conversations joined at once, 5 start", async () => {
    const org = await freshOrg("enterprise", 1000);
    await env.DB.prepare("UPDATE orgs SET max_concurrent_conversations = 5 WHERE id = ?").bind(org.id).run();
    const convs = await Promise.all(Array.from({ length: 20 }, () => createConversation({}, org.key)));
    const joins = await Promise.all(convs.map((c) => join(c.id, org.key)));
    const ready = joins.filter((j) => j.first.type === "session.ready");
    const refused = joins.filter((j) => j.first.type === "error");
    expect(ready).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const r of refused) expect(r.first.code).toBe("conversation.concurrency_limit");
    expect(await limiterOf(org.id).activeConversations()).toBe(5);
    // At the cap, concurrent creates are all refused.
    const creates = await Promise.all(
      Array.from({ length: 10 }, () =>
        api("/v1/conversations", {
          method: "POST",
          key: org.key,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ avatar_id: "av_demo", greeting: null }),
        }),
      ),
    );
    expect(creates.map((r) => r.status)).toEqual(Array(10).fill(429));
  });

  it("the tier's number applies unless the org has its own: free 2, pro 20, enterprise 100", async () => {
    const free = await freshOrg("free");
    const pro = await freshOrg("pro");
    const enterprise = await freshOrg("enterprise");
    const capOf = async (key: string, orgId: string) => {
      // Fill the org's places straight in its limiter, then ask to create one more.
      for (let i = 0; ; i++) {
        const claim = await limiterOf(orgId).claimConversation(`conv_fill_${i}`, 1000, Date.now() + 60_000);
        expect(claim.ok).toBe(true);
        const res = await api("/v1/conversations", {
          method: "POST",
          key,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ avatar_id: "av_demo", greeting: null }),
        });
        if (res.status === 429) return i + 1;
        expect(res.status).toBe(201);
      }
    };
    expect(await capOf(free.key, free.id)).toBe(2);
    expect(await capOf(pro.key, pro.id)).toBe(20);
    expect(await capOf(enterprise.key, enterprise.id)).toBe(100);
  }, 30_000);

  it("a place whose release never came is freed once the conversation must have ended", async () => {
    const org = await freshOrg("free");
    const limiter = limiterOf(org.id);
    // Its place lasts a second: long enough that the claims below come before it ends on a loaded machine
    // (200 ms once did not).
    expect(await limiter.claimConversation("conv_a", 2, Date.now() + 1_000)).toEqual({ ok: true, active: 1 });
    expect(await limiter.claimConversation("conv_b", 2, Date.now() + 60_000)).toEqual({ ok: true, active: 2 });
    expect(await limiter.claimConversation("conv_c", 2, Date.now() + 60_000)).toEqual({ ok: false, active: 2 });
    // A retried claim of a conversation holding a place is granted again.
    expect(await limiter.claimConversation("conv_b", 2, Date.now() + 60_000)).toEqual({ ok: true, active: 2 });
    await new Promise((r) => setTimeout(r, 1_050));
    expect(await limiter.claimConversation("conv_c", 2, Date.now() + 60_000)).toEqual({ ok: true, active: 2 });
    await limiter.releaseConversation("conv_b");
    await limiter.releaseConversation("conv_b");
    expect(await limiter.activeConversations()).toBe(1);
  });
});
