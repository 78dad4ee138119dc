import { describe, expect, it } from "vitest";
import type { ConversationRecord } from "../../src/db/conversations";
import { NO_CONVERSATION_USAGE } from "../../src/db/usage";
import { voiceInputOf } from "../../src/db/voice-input";
import { EVENT_RETENTION_MS, INDEX_RETRY_MS, type LimitState, planNext, warningLeadMs } from "../../src/durable-objects/conversation/limits";

/** A conversation's one alarm: the earliest of its limits' warnings and ends, and housekeeping. */

const T0 = 1_700_000_000_000;

function record(fields: Partial<ConversationRecord> = {}): ConversationRecord {
  return {
    id: "conv_1",
    orgId: "org_1",
    avatarId: "ava_1",
    personaId: null,
    model: "mock:echo",
    voiceId: "mock:alloy",
    outputAudioFormat: "pcm_24000",
    status: "active",
    transportUrl: "wss://example.test/v1/conversations/conv_1/ws",
    maxDurationS: 600,
    idleTimeoutS: 120,
    metadata: {},
    clientPermissions: [],
    voiceInput: voiceInputOf({}),
    tools: [],
    outputVisemes: true,
    keyId: null,
    usage: NO_CONVERSATION_USAGE,
    createdAt: T0,
    startedAt: T0,
    endedAt: null,
    endReason: null,
    ...fields,
  };
}

const limits = (fields: Partial<LimitState> = {}): LimitState => ({
  lastActivityAt: T0,
  warnedMax: false,
  warnedIdleFor: null,
  indexBehind: false,
  ...fields,
});

const ended = (fields: Partial<ConversationRecord> = {}) => record({ status: "ended", endedAt: T0 + 60_000, endReason: "client_ended", ...fields });

describe("warningLeadMs", () => {
  it("is 30 s, or half the limit for limits under a minute", () => {
    expect(warningLeadMs(600)).toBe(30_000);
    expect(warningLeadMs(60)).toBe(30_000);
    expect(warningLeadMs(59)).toBe(29_500);
    expect(warningLeadMs(30)).toBe(15_000);
    expect(warningLeadMs(1)).toBe(500);
  });
});

describe("planNext, active conversation", () => {
  it("plans the idle warning first when it comes before everything else", () => {
    // Idle: warning at 90 s, end at 120 s; max: warning at 570 s, end at 600 s.
    expect(planNext(record(), limits(), T0, null)).toEqual({ kind: "expiring", reason: "idle_timeout", at: T0 + 90_000, endsAt: T0 + 120_000 });
  });

  it("plans the idle end once its warning was sent for the current activity", () => {
    expect(planNext(record(), limits({ warnedIdleFor: T0 }), T0 + 90_000, null)).toEqual({ kind: "end", reason: "idle_timeout", at: T0 + 120_000 });
  });

  it("re-arms the idle warning when there is new activity", () => {
    const plan = planNext(record(), limits({ lastActivityAt: T0 + 100_000, warnedIdleFor: T0 }), T0 + 100_000, null);
    expect(plan).toEqual({ kind: "expiring", reason: "idle_timeout", at: T0 + 190_000, endsAt: T0 + 220_000 });
  });

  it("plans the max-duration warning, then its end, when the max duration comes first", () => {
    const r = record({ maxDurationS: 100, idleTimeoutS: 300 });
    expect(planNext(r, limits(), T0, null)).toEqual({ kind: "expiring", reason: "max_duration", at: T0 + 70_000, endsAt: T0 + 100_000 });
    expect(planNext(r, limits({ warnedMax: true }), T0 + 70_000, null)).toEqual({ kind: "end", reason: "max_duration", at: T0 + 100_000 });
  });

  it("does not warn of an idle end that the maximum duration comes before", () => {
    // Max end at 600 s (warned at 570 s); the last activity at 500 s puts the idle end at 620 s,
    // which never comes: the next thing is the max-duration end, not an idle warning at 590 s.
    const plan = planNext(record(), limits({ lastActivityAt: T0 + 500_000, warnedMax: true }), T0 + 575_000, null);
    expect(plan).toEqual({ kind: "end", reason: "max_duration", at: T0 + 600_000 });
  });

  it("does not repeat either warning", () => {
    // Both warnings sent: only ends are left, the earlier one first.
    const r = record({ maxDurationS: 100, idleTimeoutS: 300 });
    const sent = limits({ warnedMax: true, warnedIdleFor: T0 });
    expect(planNext(r, sent, T0 + 80_000, null)).toEqual({ kind: "end", reason: "max_duration", at: T0 + 100_000 });
    expect(planNext(record(), sent, T0 + 80_000, null)).toEqual({ kind: "end", reason: "idle_timeout", at: T0 + 120_000 });
  });

  it("counts the maximum duration from creation and the idle timeout from the last activity", () => {
    // Activity keeps the idle deadline away; the max duration does not move.
    const r = record({ maxDurationS: 600, idleTimeoutS: 120 });
    const late = limits({ lastActivityAt: T0 + 540_000, warnedMax: true });
    expect(planNext(r, late, T0 + 540_000, null)).toEqual({ kind: "end", reason: "max_duration", at: T0 + 600_000 });
  });

  it("warns at half time for limits under a minute", () => {
    const r = record({ maxDurationS: 20, idleTimeoutS: 40 });
    expect(planNext(r, limits(), T0, null)).toEqual({ kind: "expiring", reason: "max_duration", at: T0 + 10_000, endsAt: T0 + 20_000 });
    const idleFirst = record({ maxDurationS: 3600, idleTimeoutS: 10 });
    expect(planNext(idleFirst, limits(), T0, null)).toEqual({ kind: "expiring", reason: "idle_timeout", at: T0 + 5_000, endsAt: T0 + 10_000 });
  });

  it("lets an end win over a warning due at the same instant", () => {
    // The max end (100 s) and the idle warning (70 s + 60 s - 30 s = 100 s) fall together.
    const r = record({ maxDurationS: 100, idleTimeoutS: 60 });
    const l = limits({ lastActivityAt: T0 + 70_000, warnedMax: true });
    expect(planNext(r, l, T0 + 70_000, null)).toEqual({ kind: "end", reason: "max_duration", at: T0 + 100_000 });
    // And the other way round: the idle end (60 s) with the max warning (90 s - 30 s = 60 s).
    const r2 = record({ maxDurationS: 90, idleTimeoutS: 60 });
    expect(planNext(r2, limits({ warnedIdleFor: T0 }), T0, null)).toEqual({ kind: "end", reason: "idle_timeout", at: T0 + 60_000 });
  });

  it("plans a limit that is already past for now (a late alarm fires at once)", () => {
    const plan = planNext(record(), limits({ warnedIdleFor: T0 }), T0 + 10 * 60_000, null);
    expect(plan).toEqual({ kind: "end", reason: "idle_timeout", at: T0 + 120_000 });
  });

  it("retries a lagging index first when that comes before the limits", () => {
    expect(planNext(record(), limits({ indexBehind: true }), T0, null)).toEqual({ kind: "housekeeping", at: T0 + INDEX_RETRY_MS });
    // Not when a limit comes sooner.
    const soon = record({ idleTimeoutS: 20 });
    expect(planNext(soon, limits({ indexBehind: true }), T0, null)).toEqual({ kind: "expiring", reason: "idle_timeout", at: T0 + 10_000, endsAt: T0 + 20_000 });
  });
});

describe("planNext, ended conversation", () => {
  it("plans nothing once nothing can be pruned and the index is up to date", () => {
    expect(planNext(ended(), limits(), T0 + 120_000, null)).toBeNull();
    expect(planNext(ended(), limits({ warnedMax: true, warnedIdleFor: T0 }), T0 + 10 * 86_400_000, null)).toBeNull();
  });

  it("plans no limit at all once ended", () => {
    // Even with the warnings unsent and the deadlines long past.
    const plan = planNext(ended({ maxDurationS: 10, idleTimeoutS: 10 }), limits(), T0 + 3_600_000, T0 + 3_600_000);
    expect(plan?.kind).toBe("housekeeping");
  });

  it("plans housekeeping when the oldest prunable event is past its retention", () => {
    const oldest = T0 + 30_000;
    expect(planNext(ended(), limits(), T0 + 60_000, oldest)).toEqual({ kind: "housekeeping", at: oldest + EVENT_RETENTION_MS });
    // Already due: now, never in the past.
    const now = oldest + EVENT_RETENTION_MS + 5_000;
    expect(planNext(ended(), limits(), now, oldest)).toEqual({ kind: "housekeeping", at: now });
  });

  it("retries the index of an ended conversation", () => {
    const now = T0 + 120_000;
    expect(planNext(ended(), limits({ indexBehind: true }), now, null)).toEqual({ kind: "housekeeping", at: now + INDEX_RETRY_MS });
    // With events to prune as well, the earlier of the two.
    expect(planNext(ended(), limits({ indexBehind: true }), now, now - EVENT_RETENTION_MS + 10_000)).toEqual({ kind: "housekeeping", at: now + 10_000 });
    expect(planNext(ended(), limits({ indexBehind: true }), now, now)).toEqual({ kind: "housekeeping", at: now + INDEX_RETRY_MS });
  });
});
