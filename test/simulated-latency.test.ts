/** The benchmark's injected round trips (src/lib/simulated-latency.ts) delay what they claim to. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { delayedD1, delayedNamespace } from "../src/lib/simulated-latency";

const timed = async <T>(work: () => Promise<T>) => {
  const start = Date.now();
  const result = await work();
  return { result, ms: Date.now() - start };
};

describe("simulated latency", () => {
  it("no delay is the binding itself", () => {
    expect(delayedD1(env.DB, 0, 0)).toBe(env.DB);
    expect(delayedNamespace(env.RATE_LIMITER, 0)).toBe(env.RATE_LIMITER);
  });

  it("D1: queries and batches on the primary pay its round trip, a replica-first session the replica's", async () => {
    const d1 = delayedD1(env.DB, 80, 0);
    const one = await timed(() => d1.prepare("SELECT ? AS n").bind(7).first<{ n: number }>());
    expect(one.result?.n).toBe(7);
    expect(one.ms).toBeGreaterThanOrEqual(75);
    const batch = await timed(() => d1.batch([d1.prepare("SELECT 1 AS n"), d1.prepare("SELECT 2 AS n")]));
    expect(batch.result.map((r) => (r.results[0] as { n: number }).n)).toEqual([1, 2]);
    expect(batch.ms).toBeGreaterThanOrEqual(75);
    const replica = await timed(() => d1.withSession("first-unconstrained").prepare("SELECT 3 AS n").first<{ n: number }>());
    expect(replica.result?.n).toBe(3);
    expect(replica.ms).toBeLessThan(60);
    const primary = await timed(() => d1.withSession("first-primary").prepare("SELECT 4 AS n").first<{ n: number }>());
    expect(primary.ms).toBeGreaterThanOrEqual(75);
  });

  it("Durable Objects: every RPC pays the round trip and returns the object's answer", async () => {
    const namespace = delayedNamespace(env.RATE_LIMITER, 80);
    const call = await timed(() => namespace.getByName("ip:simulated-latency").hit(5));
    expect(call.result).toMatchObject({ allowed: true, limit: 5, remaining: 4 });
    expect(call.ms).toBeGreaterThanOrEqual(75);
  });
});
