import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LeaseHolder } from "../../src/lib/leases";
import { createLogger } from "../../src/lib/logger";
import type { LeaseAsk, LeaseReply } from "../../src/lib/rate-limits";

/**
 * When a lease's background asks leave: after the admission that prompted them, never in the same
 * moment (a conversation turn's request to its model goes out first). Time is Vitest's fake clock.
 */

const WINDOW_MS = 60_000;

/** An org's object that grants what is asked (ten tokens at least), and records each ask with the fake clock's time. */
function fakeObject() {
  const asks: { at: number; ask: LeaseAsk }[] = [];
  const reply = (ask: LeaseAsk): LeaseReply => {
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    return {
      revoked: false,
      tokens: Math.max(10, ask.want),
      limit: ask.limit,
      granted: asks.length * ask.want,
      windowStart,
      resetAt: windowStart + WINDOW_MS,
      ttlMs: 10_000,
      startsInMs: 0,
      windowEndsInMs: windowStart + WINDOW_MS - Date.now(),
      revokedKeys: [],
      bookmark: undefined,
    };
  };
  const ask = async (a: LeaseAsk) => {
    asks.push({ at: Date.now(), ask: a });
    return reply(a);
  };
  return { asks, holder: new LeaseHolder(() => ask, "isolate-1", createLogger({ component: "test" })) };
}

/** A context that keeps what was handed to `waitUntil`. */
function context() {
  const background: Promise<unknown>[] = [];
  return { background, ctx: { waitUntil: (p: Promise<unknown>) => void background.push(p) } };
}

beforeEach(() => {
  vi.useFakeTimers();
  // Mid-window, so no ask for the next window's lease is due.
  vi.setSystemTime(Date.UTC(2031, 0, 1, 12, 0, 10));
});
afterEach(() => vi.useRealTimers());

describe("a lease's background asks", () => {
  it("a renewal leaves 10 ms after the admission that prompted it, and only one at a time", async () => {
    const { asks, holder } = fakeObject();
    const { background, ctx } = context();
    // The cold path: one blocking ask, then admissions spend the lease with no ask at all.
    expect((await holder.hit("org_1", 100, undefined, ctx)).allowed).toBe(true);
    expect(asks).toHaveLength(1);
    expect(background).toHaveLength(0);
    // Spend until a renewal is due (the lease is down to less than a second of the recent rate).
    let admitted = 0;
    while (background.length === 0 && admitted < 50) {
      vi.advanceTimersByTime(20);
      expect((await holder.hit("org_1", 100, undefined, ctx)).allowed).toBe(true);
      admitted += 1;
    }
    expect(background).toHaveLength(1);
    expect(asks).toHaveLength(1);
    const dueAt = Date.now();
    // Nothing has left yet: the admission's caller goes first.
    await vi.advanceTimersByTimeAsync(9);
    expect(asks).toHaveLength(1);
    // Admissions meanwhile do not ask again: the renewal in waiting is the one in flight.
    expect((await holder.hit("org_1", 100, undefined, ctx)).allowed).toBe(true);
    expect(background).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(background);
    expect(asks).toHaveLength(2);
    expect(asks[1]?.at).toBe(dueAt + 10);
    expect(asks[1]?.ask.next).toBeUndefined();
  });

  it("the next window's lease is asked for 10 ms after the admission too", async () => {
    const { asks, holder } = fakeObject();
    const { background, ctx } = context();
    // 1.5 s before the window ends: inside the prefetch margin, with a rate to size it by.
    vi.setSystemTime(Date.UTC(2031, 0, 1, 12, 0, 58, 500));
    await holder.hit("org_1", 100, undefined, ctx);
    vi.advanceTimersByTime(5);
    await holder.hit("org_1", 100, undefined, ctx);
    const prefetchDueAt = Date.now();
    expect(background.length).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(9);
    expect(asks.filter((a) => a.ask.next)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(background);
    const next = asks.filter((a) => a.ask.next);
    expect(next).toHaveLength(1);
    expect(next[0]?.at).toBe(prefetchDueAt + 10);
  });
});

describe("a blocking ask beside a renewal", () => {
  it("a request whose ask found the window spent by this isolate's own renewal is admitted from the renewal's tokens", async () => {
    const limit = 6;
    let granted = 0;
    // An object with a real cap that answers in the order it was asked, when the test says so.
    const pending: (() => void)[] = [];
    const ask = (a: LeaseAsk) => {
      const tokens = Math.min(a.want, limit - granted);
      granted += tokens;
      const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
      const reply: LeaseReply = {
        revoked: false,
        tokens,
        limit,
        granted,
        windowStart,
        resetAt: windowStart + WINDOW_MS,
        ttlMs: 10_000,
        startsInMs: 0,
        windowEndsInMs: windowStart + WINDOW_MS - Date.now(),
        revokedKeys: [],
        bookmark: undefined,
      };
      return new Promise<LeaseReply>((resolve) => pending.push(() => resolve(reply)));
    };
    const answerAll = async () => {
      while (pending.length > 0) {
        pending.shift()?.();
        await vi.advanceTimersByTimeAsync(0);
      }
    };
    const holder = new LeaseHolder(() => ask, "isolate-1", createLogger({ component: "test" }));
    const { background, ctx } = context();
    const hit = async () => {
      const result = holder.hit("org_1", limit, undefined, ctx);
      await answerAll();
      return result;
    };
    let admitted = 0;
    // Spend until a renewal is waiting to leave, with the lease empty.
    while (admitted < limit && !(background.length > 0 && granted - admitted === 0)) {
      vi.advanceTimersByTime(1);
      if ((await hit()).allowed) admitted += 1;
    }
    expect(background).toHaveLength(1);
    // The renewal leaves and takes what is left of the window; its answer is still on the way.
    await vi.advanceTimersByTimeAsync(10);
    expect(pending).toHaveLength(1);
    const renewed = granted - admitted;
    expect(renewed).toBeGreaterThan(0);
    // A request now finds the lease empty and asks: the object has nothing left for it, but the
    // renewal's answer comes first, and the request is admitted from it.
    const result = holder.hit("org_1", limit, undefined, ctx);
    await answerAll();
    expect((await result).allowed).toBe(true);
    await Promise.all(background);
    expect(granted).toBeLessThanOrEqual(limit);
  });
});
