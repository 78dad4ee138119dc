import { describe, expect, it } from "vitest";
import { Playback, pcmDurationMs } from "../../src/durable-objects/conversation/playback";

/** The server's model of what a client has played of a turn's audio (pure: every call takes `now`). */

describe("pcmDurationMs", () => {
  it("is the duration of PCM16 mono bytes at a sample rate", () => {
    expect(pcmDurationMs(48_000, 24_000)).toBe(1000);
    expect(pcmDurationMs(48, 24_000)).toBe(1);
    expect(pcmDurationMs(32_000, 16_000)).toBe(1000);
    expect(pcmDurationMs(20, 16_000)).toBeCloseTo(0.625, 10);
    expect(pcmDurationMs(0, 24_000)).toBe(0);
  });
});

describe("Playback.add and modelPlayedMs", () => {
  it("counts the audio sent", () => {
    const p = new Playback();
    expect(p.sentMs).toBe(0);
    p.add(100, [], 0);
    p.add(40, [], 0);
    expect(p.sentMs).toBe(140);
  });

  it("has played nothing before the first frame arrives", () => {
    const p = new Playback();
    expect(p.modelPlayedMs(0)).toBe(0);
    p.add(100, [], 1000);
    expect(p.modelPlayedMs(999)).toBe(0);
    expect(p.modelPlayedMs(1000)).toBe(0);
    expect(p.modelPlayedMs(1001)).toBe(1);
  });

  it("plays frames that arrive together one after the other, in real time", () => {
    const p = new Playback();
    p.add(100, [], 1000);
    p.add(100, [], 1000);
    p.add(100, [], 1010);
    expect(p.modelPlayedMs(1050)).toBe(50);
    expect(p.modelPlayedMs(1100)).toBe(100);
    expect(p.modelPlayedMs(1150)).toBe(150);
    expect(p.modelPlayedMs(1250)).toBe(250);
    // Never more than was sent.
    expect(p.modelPlayedMs(1300)).toBe(300);
    expect(p.modelPlayedMs(5000)).toBe(300);
  });

  it("starts a frame that arrives after the buffer ran dry when it arrives", () => {
    const p = new Playback();
    p.add(100, [], 0);
    p.add(100, [], 300);
    // The first frame ended at 100; the client then waits until the second arrives at 300.
    expect(p.modelPlayedMs(200)).toBe(100);
    expect(p.modelPlayedMs(299)).toBe(100);
    expect(p.modelPlayedMs(350)).toBe(150);
    expect(p.modelPlayedMs(400)).toBe(200);
  });
});

describe("Playback.waitMs", () => {
  it("holds the next frame until at most the lead is buffered ahead of the client", () => {
    const p = new Playback();
    // Nothing sent: nothing to wait for.
    expect(p.waitMs(0, 100)).toBe(0);
    p.add(300, [], 0);
    expect(p.waitMs(0, 100)).toBe(200);
    expect(p.waitMs(150, 100)).toBe(50);
    expect(p.waitMs(200, 100)).toBe(0);
    // Never negative once the client is less than the lead behind.
    expect(p.waitMs(250, 100)).toBe(0);
    expect(p.waitMs(1000, 100)).toBe(0);
  });

  it("lets a whole lead go at once and holds the frame past it", () => {
    const p = new Playback();
    p.add(40, [], 0);
    p.add(40, [], 0);
    expect(p.waitMs(0, 100)).toBe(0);
    p.add(40, [], 0);
    expect(p.waitMs(0, 100)).toBe(20);
    expect(p.waitMs(20, 100)).toBe(0);
  });

  it("rounds a fractional wait up, so a frame never goes early", () => {
    const p = new Playback();
    p.add(pcmDurationMs(101, 24_000), [], 0); // 2.104… ms
    expect(p.waitMs(0, 1)).toBe(2);
    expect(p.waitMs(0, 0)).toBe(3);
  });
});

describe("Playback.reported and heardMs", () => {
  it("uses the model when the client has not reported", () => {
    const p = new Playback();
    p.add(1000, [], 0);
    expect(p.heardMs(0)).toBe(0);
    expect(p.heardMs(400)).toBe(400);
    expect(p.heardMs(5000)).toBe(1000);
  });

  it("carries the client's report forward in real time", () => {
    const p = new Playback();
    p.add(1000, [], 0);
    // The client started late: at 500 it had played 100 ms, not the 500 the model assumes.
    p.reported(100, 500);
    expect(p.heardMs(500)).toBe(100);
    expect(p.heardMs(650)).toBe(250);
  });

  it("caps the heard audio at what was sent, and never goes below zero", () => {
    const p = new Playback();
    p.add(300, [], 0);
    p.reported(250, 100);
    expect(p.heardMs(200)).toBe(300);
    expect(p.heardMs(10_000)).toBe(300);
    // A report is never taken for more than was sent either.
    p.reported(5000, 100);
    expect(p.heardMs(100)).toBe(300);
    // Asked about a moment before the report.
    p.reported(0, 100);
    expect(p.heardMs(40)).toBe(0);
  });

  it("keeps the newest report", () => {
    const p = new Playback();
    p.add(1000, [], 0);
    p.reported(100, 100);
    p.reported(50, 300);
    expect(p.heardMs(300)).toBe(50);
    expect(p.heardMs(400)).toBe(150);
  });
});

describe("Playback.spokenAt", () => {
  const twoFrames = () => {
    const p = new Playback();
    // Marks are relative to their frame's start.
    p.add(
      100,
      [
        { atMs: 0, spoken: "H" },
        { atMs: 50, spoken: "Hi" },
      ],
      0,
    );
    p.add(
      100,
      [
        { atMs: 0, spoken: "Hi " },
        { atMs: 30, spoken: "Hi y" },
      ],
      0,
    );
    return p;
  };

  it("is the text whose last character started strictly before the point", () => {
    const p = twoFrames();
    expect(p.spokenAt(0)).toBe("");
    expect(p.spokenAt(0.5)).toBe("H");
    expect(p.spokenAt(50)).toBe("H");
    expect(p.spokenAt(51)).toBe("Hi");
    expect(p.spokenAt(100)).toBe("Hi");
    expect(p.spokenAt(101)).toBe("Hi ");
    // The second frame's marks are placed after the first frame's 100 ms.
    expect(p.spokenAt(130)).toBe("Hi ");
    expect(p.spokenAt(131)).toBe("Hi y");
    expect(p.spokenAt(Number.POSITIVE_INFINITY)).toBe("Hi y");
  });

  it("is empty with no marks", () => {
    const p = new Playback();
    p.add(500, [], 0);
    expect(p.spokenAt(400)).toBe("");
  });

  it("with heardMs gives what the client heard", () => {
    const p = twoFrames();
    expect(p.spokenAt(p.heardMs(60))).toBe("Hi");
    p.reported(20, 60);
    expect(p.spokenAt(p.heardMs(60))).toBe("H");
    expect(p.spokenAt(p.heardMs(171))).toBe("Hi y");
  });
});
