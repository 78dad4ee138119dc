import { describe, expect, it } from "vitest";
import { type TurnHandle, TurnQueue, type TurnState } from "../../src/durable-objects/conversation/turns";

/** Turn taking: one turn at a time, in order; interrupting and enqueuing are separate steps. */

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * A turn that records when it starts (with its handle) and finishes when the test says so, or
 * when its signal aborts (as a real turn closes itself on an interrupt).
 */
function controlledTurn(name: string, log: string[]) {
  const gate = deferred<string>();
  let handle: TurnHandle | undefined;
  const run = async (h: TurnHandle) => {
    handle = h;
    log.push(`start ${name}${h.signal.aborted ? " (aborted)" : ""}`);
    const onAbort = new Promise<string>((resolve) => h.signal.addEventListener("abort", () => resolve("interrupted"), { once: true }));
    const result = await Promise.race([gate.promise, h.signal.aborted ? Promise.resolve("interrupted") : onAbort]);
    log.push(`end ${name} ${result}`);
    return `${name} ${result}`;
  };
  return {
    run,
    finish: (value = "done") => gate.resolve(value),
    get handle() {
      return handle;
    },
  };
}

describe("TurnQueue", () => {
  it("runs one turn at a time, in the order they were enqueued", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const a = controlledTurn("a", log);
    const b = controlledTurn("b", log);
    const c = controlledTurn("c", log);
    const results = [q.enqueue(a.run), q.enqueue(b.run), q.enqueue(c.run)];
    await flush();
    expect(log).toEqual(["start a"]);
    // Finishing a later turn first changes nothing: it has not started.
    c.finish();
    b.finish();
    await flush();
    expect(log).toEqual(["start a"]);
    a.finish();
    expect(await Promise.all(results)).toEqual(["a done", "b done", "c done"]);
    expect(log).toEqual(["start a", "end a done", "start b", "end b done", "start c", "end c done"]);
  });

  it("resolves each enqueue with its turn's value and rejects with its error", async () => {
    const q = new TurnQueue();
    const boom = new Error("boom");
    const ok = q.enqueue(async () => 42);
    const bad = q.enqueue(async () => {
      throw boom;
    });
    expect(await ok).toBe(42);
    await expect(bad).rejects.toBe(boom);
  });

  it("does not let a rejected turn block the turns after it", async () => {
    const q = new TurnQueue();
    const ran: string[] = [];
    const first = q.enqueue(async () => {
      ran.push("first");
      throw new Error("first failed");
    });
    const second = q.enqueue(async () => {
      ran.push("second");
      return "second ok";
    });
    await expect(first).rejects.toThrow("first failed");
    expect(await second).toBe("second ok");
    expect(ran).toEqual(["first", "second"]);
    expect(q.busy).toBe(false);
    expect(q.state).toBe("idle");
  });

  it("interrupt() aborts the running turn and every waiting one, with the reason", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const a = controlledTurn("a", log);
    const b = controlledTurn("b", log);
    const results = [q.enqueue(a.run), q.enqueue(b.run)];
    await flush();
    const reason = new Error("user interrupted");
    q.interrupt(reason);
    expect(await Promise.all(results)).toEqual(["a interrupted", "b interrupted"]);
    // The waiting turn still ran, after the running one, with its signal already aborted.
    expect(log).toEqual(["start a", "end a interrupted", "start b (aborted)", "end b interrupted"]);
    expect(a.handle?.signal.reason).toBe(reason);
    expect(b.handle?.signal.reason).toBe(reason);
  });

  it("runs a turn enqueued after an interrupt normally, after the interrupted ones", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const a = controlledTurn("a", log);
    const b = controlledTurn("b", log);
    const first = q.enqueue(a.run);
    await flush();
    q.interrupt();
    const second = q.enqueue(b.run);
    expect(await first).toBe("a interrupted");
    await flush();
    expect(log).toEqual(["start a", "end a interrupted", "start b"]);
    expect(b.handle?.signal.aborted).toBe(false);
    b.finish("answered");
    expect(await second).toBe("b answered");
  });

  it("a second interrupt reaches the turns enqueued after the first, while an interrupted turn still runs", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const b = controlledTurn("b", log);
    const c = controlledTurn("c", log);
    // A slow turn that takes its time to close after its abort.
    const closeA = deferred();
    let aSignal: AbortSignal | undefined;
    const first = q.enqueue(async (h) => {
      aSignal = h.signal;
      await closeA.promise;
      return "a closed";
    });
    q.interrupt("first");
    const second = q.enqueue(b.run);
    const third = q.enqueue(c.run);
    await flush();
    expect(b.handle).toBeUndefined();
    q.interrupt("second");
    closeA.resolve();
    expect(await first).toBe("a closed");
    expect(await Promise.all([second, third])).toEqual(["b interrupted", "c interrupted"]);
    expect(aSignal?.reason).toBe("first");
    expect(b.handle?.signal.reason).toBe("second");
    expect(c.handle?.signal.reason).toBe("second");
  });

  it("interrupt() with nothing running changes nothing for the next turn", async () => {
    const q = new TurnQueue();
    q.interrupt();
    let signal: AbortSignal | undefined;
    await q.enqueue(async (h) => {
      signal = h.signal;
    });
    expect(signal?.aborted).toBe(false);
  });

  it("reports idle → thinking → speaking → idle, once per change", async () => {
    const states: TurnState[] = [];
    const q = new TurnQueue((s) => states.push(s));
    expect(q.state).toBe("idle");
    const seen: TurnState[] = [];
    await q.enqueue(async (h) => {
      seen.push(q.state);
      h.setState("thinking");
      h.setState("speaking");
      seen.push(q.state);
      h.setState("speaking");
    });
    expect(seen).toEqual(["thinking", "speaking"]);
    expect(states).toEqual(["thinking", "speaking", "idle"]);
    expect(q.state).toBe("idle");
  });

  it("goes back to thinking between back-to-back turns, and to idle only when none is left", async () => {
    const states: TurnState[] = [];
    const q = new TurnQueue((s) => states.push(s));
    const speaking = async (h: TurnHandle) => h.setState("speaking");
    await Promise.all([q.enqueue(speaking), q.enqueue(speaking), q.enqueue(async () => {})]);
    expect(states).toEqual(["thinking", "speaking", "thinking", "speaking", "thinking", "idle"]);
  });

  it("goes back to idle after a rejected turn", async () => {
    const states: TurnState[] = [];
    const q = new TurnQueue((s) => states.push(s));
    await expect(
      q.enqueue(async (h) => {
        h.setState("speaking");
        throw new Error("tts down");
      }),
    ).rejects.toThrow("tts down");
    expect(states).toEqual(["thinking", "speaking", "idle"]);
  });

  it("is busy while a turn runs or waits", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const a = controlledTurn("a", log);
    const b = controlledTurn("b", log);
    expect(q.busy).toBe(false);
    const first = q.enqueue(a.run);
    const second = q.enqueue(b.run);
    expect(q.busy).toBe(true);
    a.finish();
    await first;
    expect(q.busy).toBe(true);
    b.finish();
    await second;
    expect(q.busy).toBe(false);
  });

  it("settled() waits for every turn enqueued so far, failed ones included, and never rejects", async () => {
    const q = new TurnQueue();
    const log: string[] = [];
    const a = controlledTurn("a", log);
    const failing = q.enqueue(async () => {
      throw new Error("nope");
    });
    failing.catch(() => {});
    void q.enqueue(a.run);
    let settled = false;
    const done = q.settled().then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    a.finish();
    await done;
    expect(settled).toBe(true);
    expect(log).toEqual(["start a", "end a done"]);
    // With nothing enqueued it resolves at once.
    await expect(q.settled()).resolves.toBeUndefined();
  });
});
