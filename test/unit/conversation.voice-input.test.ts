import { afterEach, describe, expect, it, vi } from "vitest";
import type { VoiceInputSettings } from "../../src/db/schema";
import { voiceInputOf } from "../../src/db/voice-input";
import { MAX_UTTERANCE_MS, VoiceInput, type VoiceSink } from "../../src/durable-objects/conversation/voice-input";
import { ApiError } from "../../src/lib/errors";
import type { SttStream, SttStreamEvents } from "../../src/providers/stt/types";

/**
 * One socket's voice, with a fake speech-to-text: where turns end and why, the prefix padding,
 * barge-in against coughs and backchannels, push-to-talk, provider endpointing and failures.
 * Audio is synthetic: a loud tone is voice, zeros are silence (the VAD itself: conversation.vad).
 */

const RATE = 16_000;
const FRAME = 320; // 20 ms

const tone = (ms: number, amplitude = 0.3) => {
  const out = new Int16Array((ms * RATE) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / RATE) * amplitude * 32767);
  return out;
};
const quiet = (ms: number) => new Int16Array((ms * RATE) / 1000);

class FakeStt implements SttStream {
  appended = 0;
  finishes = 0;
  closed = false;
  cleared = 0;
  constructor(
    readonly events: SttStreamEvents,
    private readonly text: () => string | Error,
  ) {}
  append(samples: Int16Array): void {
    this.appended += samples.length;
  }
  async finish() {
    this.finishes += 1;
    const text = this.text();
    if (text instanceof Error) throw text;
    return { text, language: null };
  }
  clear(): void {
    this.cleared += 1;
  }
  close(): void {
    this.closed = true;
  }
}

type Call = [keyof VoiceSink, ...unknown[]];

function setup(opts: { settings?: Partial<VoiceInputSettings>; busy?: boolean; text?: string | Error } = {}) {
  const settings = { ...voiceInputOf({}), ...opts.settings };
  const calls: Call[] = [];
  const stts: FakeStt[] = [];
  let text: string | Error = opts.text ?? "Hello there.";
  const state = { busy: opts.busy ?? false };
  const record =
    (name: keyof VoiceSink) =>
    (...args: unknown[]) =>
      calls.push([name, ...args]);
  const sink: VoiceSink = {
    speechStarted: record("speechStarted"),
    speechStopped: record("speechStopped"),
    interim: record("interim"),
    bargeIn: record("bargeIn"),
    turnEnded: record("turnEnded"),
    transcript: record("transcript"),
    ignored: record("ignored"),
    error: record("error"),
  };
  const voice = new VoiceInput({
    settings: () => settings,
    openStt: (events) => {
      const stt = new FakeStt(events, () => text);
      stts.push(stt);
      return stt;
    },
    avatarBusy: () => state.busy,
    idleCloseMs: IDLE_CLOSE_MS,
    sink,
  });
  const feed = (audio: Int16Array) => {
    for (let at = 0; at < audio.length; at += FRAME) voice.audio(audio.slice(at, at + FRAME));
  };
  const names = () => calls.map((c) => c[0]);
  const of = (name: keyof VoiceSink) => calls.filter((c) => c[0] === name);
  return { voice, feed, calls, names, of, stts, state, settings, setText: (t: string | Error) => (text = t) };
}

const IDLE_CLOSE_MS = 10_000;
const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.useRealTimers());

describe("server_vad", () => {
  it("voice then silence_ms of silence is a turn: started, stopped, why it ended, the transcript", async () => {
    const t = setup();
    t.feed(quiet(200));
    t.feed(tone(800));
    t.feed(quiet(700));
    await settle();
    expect(t.names()).toEqual(["speechStarted", "speechStopped", "turnEnded", "transcript"]);
    const [, startMs] = t.of("speechStarted")[0] as Call;
    expect(startMs).toBeGreaterThanOrEqual(190);
    expect(startMs).toBeLessThanOrEqual(220);
    const [, reason, silenceMs, speechMs] = t.of("turnEnded")[0] as Call;
    expect(reason).toBe("silence");
    expect(silenceMs).toBeGreaterThanOrEqual(600);
    expect(silenceMs).toBeLessThan(630);
    expect(speechMs).toBeGreaterThanOrEqual(780);
    expect(speechMs).toBeLessThanOrEqual(820);
    const [, text, timing, interrupt] = t.of("transcript")[0] as Call;
    expect(text).toBe("Hello there.");
    expect(interrupt).toBe(true);
    expect(timing).toMatchObject({ speechEndedAt: expect.any(Number), finalAt: expect.any(Number) });
  });

  it("frames of any length: speech begun and ended within one long frame still has its length", async () => {
    const t = setup({ busy: true, text: "[unrecognised audio, 0.1 s]" });
    t.voice.audio(new Int16Array([...tone(100), ...quiet(700)]));
    await settle();
    const [, reason, , speechMs] = t.of("turnEnded")[0] as Call;
    expect(reason).toBe("silence");
    expect(speechMs).toBeGreaterThanOrEqual(90);
    expect(speechMs).toBeLessThanOrEqual(110);
    expect(t.of("ignored")[0]?.[1]).toBe("too_short");
  });

  it("the speech-to-text hears prefix_padding_ms of audio before the voice, and the speech", async () => {
    const t = setup();
    t.feed(quiet(1000));
    t.feed(tone(500));
    t.feed(quiet(700));
    await settle();
    const stt = t.stts[0] as FakeStt;
    // 300 ms before, 500 ms of voice, the silence up to the end of the turn (600 ms).
    expect(stt.appended / RATE).toBeGreaterThanOrEqual(0.3 + 0.5 + 0.6 - 0.03);
    expect(stt.appended / RATE).toBeLessThanOrEqual(0.3 + 0.5 + 0.6 + 0.05);
  });

  it("silence alone opens nothing; a pause shorter than silence_ms does not end the turn", async () => {
    const t = setup();
    t.feed(quiet(3000));
    expect(t.stts).toHaveLength(0);
    t.feed(tone(300));
    t.feed(quiet(400));
    t.feed(tone(300));
    t.feed(quiet(700));
    await settle();
    expect(t.of("turnEnded")).toHaveLength(1);
    expect(t.of("speechStarted")).toHaveLength(1);
  });

  it("an empty transcript is no turn: ignored, no_words", async () => {
    const t = setup({ text: "" });
    t.feed(tone(500));
    t.feed(quiet(700));
    await settle();
    expect(t.of("transcript")).toHaveLength(0);
    expect(t.of("ignored")[0]?.slice(1, 3)).toEqual(["no_words", ""]);
  });

  it("the provider's end of turn ends it before the silence does", async () => {
    const t = setup();
    t.feed(tone(500));
    t.feed(quiet(100));
    t.stts[0]?.events.endOfTurn();
    await settle();
    expect(t.of("turnEnded")[0]?.slice(1, 2)).toEqual(["provider"]);
    expect(t.names()).toContain("transcript");
  });

  it("30 s of voice ends the turn (max_length)", async () => {
    const t = setup();
    t.feed(tone(MAX_UTTERANCE_MS + 100));
    await settle();
    expect(t.of("turnEnded")[0]?.[1]).toBe("max_length");
  });

  it("a failing speech-to-text is an error; the rest of that speech is dropped; the next speech opens a new session", async () => {
    const t = setup();
    t.feed(tone(300));
    t.stts[0]?.events.error(new ApiError("provider.unavailable", "Deepgram dropped."));
    expect(t.of("error")).toHaveLength(1);
    t.feed(tone(300));
    expect(t.stts).toHaveLength(1);
    t.feed(quiet(700));
    expect(t.of("turnEnded")).toHaveLength(0);
    t.feed(tone(300));
    t.feed(quiet(700));
    await settle();
    expect(t.stts).toHaveLength(2);
    expect(t.of("transcript")).toHaveLength(1);
  });

  it("a transcript that fails is an error, not a turn", async () => {
    const t = setup({ text: new ApiError("provider.timeout", "Too slow.") });
    t.feed(tone(300));
    t.feed(quiet(700));
    await settle();
    expect(t.of("error")).toHaveLength(1);
    expect(t.of("transcript")).toHaveLength(0);
  });

  it("the session closes after idleCloseMs (VOICE_STT_IDLE_MS) without speech, and opens again on the next", async () => {
    vi.useFakeTimers();
    const t = setup();
    t.feed(tone(300));
    t.feed(quiet(700));
    await vi.advanceTimersByTimeAsync(IDLE_CLOSE_MS - 100);
    expect(t.stts[0]?.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(t.stts[0]?.closed).toBe(true);
    t.feed(tone(300));
    expect(t.stts).toHaveLength(2);
  });

  it("close() closes the session and ignores later audio", () => {
    const t = setup();
    t.feed(tone(300));
    t.voice.close();
    expect(t.stts[0]?.closed).toBe(true);
    t.feed(tone(300));
    expect(t.stts).toHaveLength(1);
  });
});

describe("barge-in", () => {
  it("voice lasting min_interrupt_ms with a word that is not a backchannel interrupts", async () => {
    const t = setup({ busy: true, text: "Stop right there." });
    t.feed(tone(200));
    t.stts[0]?.events.interim("Stop");
    t.feed(tone(400));
    const barge = t.of("bargeIn")[0] as Call;
    expect(barge).toBeDefined();
    expect(barge[1]).toBeGreaterThanOrEqual(400);
    expect(barge[1]).toBeLessThan(440);
    t.feed(quiet(700));
    await settle();
    expect(t.of("transcript")[0]?.[1]).toBe("Stop right there.");
  });

  it("a cough (100 ms) does not; it is ignored as too short", async () => {
    const t = setup({ busy: true, text: "[unrecognised audio, 0.1 s]" });
    t.feed(tone(100));
    t.feed(quiet(700));
    await settle();
    expect(t.of("bargeIn")).toHaveLength(0);
    expect(t.of("ignored")[0]?.[1]).toBe("too_short");
  });

  it("'uh-huh' does not, however long; it is ignored as a backchannel", async () => {
    const t = setup({ busy: true, text: "Uh-huh." });
    t.feed(tone(100));
    t.stts[0]?.events.interim("uh-h");
    t.feed(tone(500));
    t.stts[0]?.events.interim("uh-huh");
    t.feed(tone(200));
    t.feed(quiet(700));
    await settle();
    expect(t.of("bargeIn")).toHaveLength(0);
    expect(t.of("ignored")[0]?.slice(1, 3)).toEqual(["backchannel", "Uh-huh."]);
  });

  it("voice with no words yet waits NO_WORDS_GRACE_MS more, then interrupts", () => {
    const t = setup({ busy: true });
    t.feed(tone(700));
    expect(t.of("bargeIn")).toHaveLength(0);
    t.feed(tone(200));
    expect(t.of("bargeIn")).toHaveLength(1);
  });

  it("nothing interrupts when interruption is off; the speech is still a turn, not cutting in", async () => {
    const t = setup({ busy: true, settings: { interruption: { enabled: false, ignore_words: [] } } });
    t.feed(tone(800));
    t.feed(quiet(700));
    await settle();
    expect(t.of("bargeIn")).toHaveLength(0);
    expect(t.of("transcript")[0]?.[3]).toBe(false);
  });

  it("with no ignore words, duration alone decides", () => {
    const t = setup({ busy: true, settings: { interruption: { enabled: true, ignore_words: [] } } });
    t.feed(tone(420));
    expect(t.of("bargeIn")).toHaveLength(1);
  });
});

describe("push_to_talk", () => {
  const ptt = { turn_detection: { ...voiceInputOf({}).turn_detection, type: "push_to_talk" as const } };

  it("silence does not end the turn; commit does, with everything since the last one", async () => {
    const t = setup({ settings: ptt });
    t.feed(quiet(200));
    t.feed(tone(500));
    t.feed(quiet(1500));
    await settle();
    expect(t.of("turnEnded")).toHaveLength(0);
    expect(t.names()).toContain("speechStopped");
    expect(t.voice.commit()).toBe(true);
    await settle();
    const [, reason, silenceMs] = t.of("turnEnded")[0] as Call;
    expect(reason).toBe("commit");
    expect(silenceMs).toBeGreaterThanOrEqual(1450);
    expect((t.stts[0] as FakeStt).appended / RATE).toBeCloseTo(2.2, 1);
    expect(t.of("transcript")).toHaveLength(1);
  });

  it("commit with nothing is false; clear forgets", () => {
    const t = setup({ settings: ptt });
    expect(t.voice.commit()).toBe(false);
    t.feed(tone(300));
    t.voice.clear();
    expect(t.stts[0]?.cleared).toBe(1);
    expect(t.voice.commit()).toBe(false);
  });

  it("the provider's end of turn does not end a push-to-talk turn", () => {
    const t = setup({ settings: ptt });
    t.feed(tone(300));
    t.stts[0]?.events.endOfTurn();
    expect(t.of("turnEnded")).toHaveLength(0);
  });
});
