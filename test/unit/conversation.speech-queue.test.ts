import { describe, expect, it, vi } from "vitest";
import type { OutputAudioFormat } from "../../src/db/schema";
import { Playback } from "../../src/durable-objects/conversation/playback";
import { SpeechQueue } from "../../src/durable-objects/conversation/speech-queue";
import { ApiError } from "../../src/lib/errors";
import { alignedText, Clock, chunk, FakeTts, type Feed, log, pcm, RecordingSink, sleep, testConfig, timings } from "./conversation-fakes";

/**
 * Sentences in, audio out in sentence order, paced a bounded lead ahead of the client. Providers
 * are fakes the test feeds; pacing uses real timers with small numbers and asserts lower bounds
 * only (the machine may be loaded), or a clock that moves only when the test moves it.
 */

interface Setup {
  timings?: boolean;
  script?: (text: string, feed: Feed, call: number) => void;
  leadMs?: number;
  now?: () => number;
  playback?: Playback;
  format?: OutputAudioFormat;
}

const HUGE_LEAD = 1e9;

function setup(options: Setup = {}) {
  const now = options.now ?? Date.now;
  const tts = new FakeTts(options.timings ?? false, options.script);
  const sink = new RecordingSink(now);
  const abort = new AbortController();
  const q = new SpeechQueue({ provider: tts, voice: "voice_1", format: options.format ?? "pcm_24000", leadMs: options.leadMs ?? HUGE_LEAD }, sink, {
    signal: abort.signal,
    config: testConfig(),
    log,
    now,
    ...(options.playback ? { playback: options.playback } : {}),
  });
  return { tts, sink, abort, q };
}

/** Every synthesis gets `count` frames of `ms` each, at once. */
const frames =
  (count: number, ms: number) =>
  (_text: string, feed: Feed): void => {
    for (let i = 0; i < count; i++) feed.push(chunk(pcm(ms)));
    feed.end();
  };

describe("SpeechQueue order and concurrency", () => {
  it("sends audio strictly in sentence order, even when a later sentence's audio arrives first", async () => {
    const { tts, sink, q } = setup();
    q.add("First.");
    q.add(" Second.");
    expect(tts.texts).toEqual(["First.", "Second."]);
    tts.calls[1]?.feed.push(chunk(pcm(40, 2)), chunk(pcm(40, 2))).end();
    await sleep(30);
    expect(sink.frames).toHaveLength(0);
    tts.calls[0]?.feed.push(chunk(pcm(40, 1)));
    await sink.framesSent(1);
    tts.calls[0]?.feed.push(chunk(pcm(40, 1))).end();
    q.close();
    await q.played;
    expect(sink.frames.map((f) => f.chunk.audio[0])).toEqual([1, 1, 2, 2]);
    expect(sink.frames.map((f) => f.spoken)).toEqual(["First.", "First.", "First. Second.", "First. Second."]);
    expect(q.spoken).toBe("First. Second.");
  });

  it("synthesizes at most 3 sentences at once and starts the next as soon as one finishes", async () => {
    const { tts, sink, q } = setup();
    for (let i = 1; i <= 5; i++) q.add(`${i === 1 ? "" : " "}S${i}.`);
    expect(tts.texts).toEqual(["S1.", "S2.", "S3."]);
    // The second finishes first: its slot goes to the fourth.
    tts.calls[1]?.feed.push(chunk(pcm(10, 2))).end();
    await vi.waitFor(() => expect(tts.texts).toEqual(["S1.", "S2.", "S3.", "S4."]));
    await sleep(20);
    expect(tts.calls).toHaveLength(4);
    tts.calls[0]?.feed.push(chunk(pcm(10, 1))).end();
    await vi.waitFor(() => expect(tts.calls).toHaveLength(5));
    for (const i of [2, 3, 4]) tts.calls[i]?.feed.push(chunk(pcm(10, i + 1))).end();
    q.close();
    await q.played;
    expect(tts.maxOpen).toBe(3);
    expect(sink.frames.map((f) => f.chunk.audio[0])).toEqual([1, 2, 3, 4, 5]);
    expect(q.spoken).toBe("S1. S2. S3. S4. S5.");
  });

  it("settles at once when closed with nothing added", async () => {
    const { tts, sink, q } = setup();
    q.close();
    await q.played;
    expect(tts.calls).toHaveLength(0);
    expect(sink.events).toEqual([]);
    expect(q.speechStarted).toBe(false);
    expect(q.spoken).toBe("");
  });
});

describe("SpeechQueue pacing", () => {
  it("sends no frame while more than the lead is buffered ahead of the client (clock held still)", async () => {
    const clock = new Clock(0);
    const { sink, abort, q } = setup({ now: clock.now, leadMs: 100, script: frames(10, 40) });
    q.add("A long sentence.");
    q.close();
    // 0, 40 and 80 ms of audio ahead are within the lead of 100; 120 is not.
    await sink.framesSent(3);
    await sleep(60);
    expect(sink.frames).toHaveLength(3);
    // 20 ms later the client has played 20 ms: 100 ms ahead, the fourth frame may go, not the fifth.
    clock.advance(20);
    await sink.framesSent(4);
    await sleep(60);
    expect(sink.frames).toHaveLength(4);
    clock.advance(40);
    await sink.framesSent(5);
    await sleep(60);
    expect(sink.frames).toHaveLength(5);
    abort.abort(new Error("done"));
    await expect(q.played).rejects.toThrow("done");
  });

  it("paces frames in real time: frame k goes no earlier than k × 40 − L ms after the first", async () => {
    const lead = 100;
    const { sink, q } = setup({ leadMs: lead, script: frames(8, 40) });
    q.add("One sentence, eight frames.");
    q.close();
    await q.played;
    const at = sink.frames.map((f) => f.at);
    expect(at).toHaveLength(8);
    // Measured from the speech's start, read before the first frame's place in the model.
    const start = q.firstAudioAt ?? Number.NaN;
    for (const [k, t] of at.entries()) expect(t - start).toBeGreaterThanOrEqual(k * 40 - lead);
    // The last frame: 280 ms of audio before it, at most 100 ahead of the client.
    expect((at[7] ?? 0) - start).toBeGreaterThanOrEqual(180);
  });

  it("sends everything at once with a huge lead", async () => {
    // The clock never moves: any pacing would hold the audio forever.
    const clock = new Clock(0);
    const { sink, q } = setup({ now: clock.now, leadMs: HUGE_LEAD, script: frames(25, 40) });
    q.add("First.");
    q.add(" Second.");
    q.close();
    await q.played;
    expect(sink.frames).toHaveLength(50);
    expect(q.playback.sentMs).toBe(2000);
  });

  it("measures frames at the format's sample rate", async () => {
    const clock = new Clock(0);
    const script = (_text: string, feed: Feed) => feed.push(chunk(pcm(100, 0, 32))).end(); // 100 ms at 16 kHz
    const { q } = setup({ now: clock.now, format: "pcm_16000", script });
    q.add("Hello.");
    q.close();
    await q.played;
    expect(q.playback.sentMs).toBe(100);
  });
});

describe("SpeechQueue abort and failure", () => {
  it("an abort stops a player waiting for audio, and the synthesis with it", async () => {
    const { tts, sink, abort, q } = setup();
    q.add("Never arrives.");
    await sleep(10);
    const reason = new Error("interrupted");
    abort.abort(reason);
    await expect(q.played).rejects.toBe(reason);
    expect(tts.calls[0]?.signal.aborted).toBe(true);
    await vi.waitFor(() => expect(tts.calls[0]?.feed.finished).toBe(true));
    // Nothing is synthesized any more.
    q.add(" Late.");
    expect(tts.calls).toHaveLength(1);
    expect(sink.frames).toHaveLength(0);
  });

  it("an abort stops a player waiting for its pace at once", async () => {
    // The client is a minute behind: the next frame would wait about 60 s.
    const clock = new Clock(0);
    const playback = new Playback();
    playback.add(60_000, [], 0);
    const { sink, abort, q } = setup({ now: clock.now, leadMs: 100, playback, script: frames(2, 40) });
    q.add("Held back.");
    q.close();
    await sleep(20);
    expect(sink.frames).toHaveLength(0);
    const reason = new Error("interrupted");
    abort.abort(reason);
    // Without the abort reaching the pace, this would take a minute (the test's timeout fails it).
    await expect(q.played).rejects.toBe(reason);
    expect(sink.frames).toHaveLength(0);
  });

  it("an abort between frames sends nothing more", async () => {
    const clock = new Clock(0);
    const { sink, abort, q } = setup({ now: clock.now, leadMs: 100, script: frames(10, 40) });
    q.add("Cut short.");
    q.close();
    await sink.framesSent(3);
    abort.abort(new Error("stop"));
    await expect(q.played).rejects.toThrow("stop");
    clock.advance(1000);
    await sleep(30);
    expect(sink.frames).toHaveLength(3);
  });

  it("a provider that fails before any audio rejects played with its error", async () => {
    const failure = new ApiError("provider.unavailable", "The speech provider is unavailable.");
    const { sink, q } = setup({
      script: () => {
        throw failure;
      },
    });
    q.add("Hello.");
    q.close();
    await expect(q.played).rejects.toBe(failure);
    expect(sink.frames).toHaveLength(0);
    expect(q.speechStarted).toBe(false);
  });

  it("a provider that fails midway rejects played after sending the audio before the failure", async () => {
    const failure = new ApiError("provider.timeout", "The speech provider stopped sending audio.");
    const { sink, q } = setup({
      script: (text, feed) => {
        if (text === "Fine.") feed.push(chunk(pcm(40, 1))).end();
        else feed.push(chunk(pcm(40, 2))).fail(failure);
      },
    });
    q.add("Fine.");
    q.add(" Broken.");
    q.add(" Never.");
    q.close();
    await expect(q.played).rejects.toBe(failure);
    expect(sink.frames.map((f) => f.chunk.audio[0])).toEqual([1, 2]);
    expect(q.spoken).toBe("Fine. Broken.");
  });
});

describe("SpeechQueue text and alignment", () => {
  it("gives every frame of a voice with timings an alignment, and a sentence after another a leading space", async () => {
    const script = (text: string, feed: Feed) => {
      if (text === "Hi there.") feed.push(chunk(pcm(100, 1), timings("Hi the")), chunk(pcm(100, 1), timings("re.")), chunk(pcm(1, 1), null));
      if (text === "Bye.") feed.push(chunk(pcm(100, 2), timings("Bye.")));
      // A first frame without timings, then the sentence's characters.
      if (text === "See you.") feed.push(chunk(pcm(20, 3), null), chunk(pcm(100, 3), timings("See you.")));
      feed.end();
    };
    const { sink, q } = setup({ timings: true, script });
    const reply = "Hi there. Bye. See you.";
    q.add("Hi there.");
    q.add(" Bye.");
    q.add(" See you.");
    q.close();
    await q.played;
    const alignments = sink.frames.map((f) => f.chunk.alignment);
    expect(alignments.every((a) => a !== null)).toBe(true);
    expect(alignments[2]).toEqual({ chars: [], start_ms: [], duration_ms: [] });
    expect(alignments[3]).toEqual({ chars: [" ", "B", "y", "e", "."], start_ms: [0, 0, 10, 20, 30], duration_ms: [0, 10, 10, 10, 10] });
    expect(alignments[4]).toEqual({ chars: [" "], start_ms: [0], duration_ms: [0] });
    expect(alignedText(sink)).toBe(reply);
    expect(sink.frames.slice(0, 4).map((f) => f.spoken)).toEqual(["Hi the", "Hi there.", "Hi there.", "Hi there. Bye."]);
    expect(q.spoken).toBe(reply);
  });

  // A voice with timings may send a sentence's first frame without any (ElevenLabs' NDJSON lines
  // can): the sentence is not counted as said until its characters' audio starts.
  it("a voice with timings whose sentence starts with a frame without timings says that sentence once", async () => {
    const clock = new Clock(0);
    const script = (text: string, feed: Feed) => {
      if (text === "Hi.") feed.push(chunk(pcm(100), timings("Hi.")));
      else feed.push(chunk(pcm(100), null), chunk(pcm(100), timings("See you.")));
      feed.end();
    };
    const { sink, q } = setup({ timings: true, now: clock.now, script });
    q.add("Hi.");
    q.add(" See you.");
    q.close();
    await q.played;
    expect(sink.frames.map((f) => f.spoken)).toEqual(["Hi.", "Hi. ", "Hi. See you."]);
    // 150 ms in: the second sentence's audio has started (at 100), none of its characters (from 200).
    clock.t = 150;
    expect(q.heardText()).toBe("Hi.");
  });

  // The whitespace between sentences travels with the later one's first frame, whatever it is (the
  // splitter also cuts at line breaks), so the frames' characters joined are the reply.
  it("joins sentences separated by a line break with that line break", async () => {
    const script = (text: string, feed: Feed) => feed.push(chunk(pcm(40), timings(text))).end();
    const { sink, q } = setup({ timings: true, script });
    q.add("First.");
    q.add("\n\nSecond.");
    q.close();
    await q.played;
    expect(q.spoken).toBe("First.\n\nSecond.");
    expect(alignedText(sink)).toBe("First.\n\nSecond.");
  });

  it("sends null alignments for a voice without timings and counts a sentence as said once its audio starts", async () => {
    const { tts, sink, q } = setup({ timings: false, script: frames(2, 40) });
    q.add("One.");
    q.add(" Two.");
    q.close();
    await q.played;
    expect(tts.calls.map((c) => c.request.timestamps)).toEqual([false, false]);
    expect(sink.frames.map((f) => f.chunk.alignment)).toEqual([null, null, null, null]);
    expect(sink.frames.map((f) => f.spoken)).toEqual(["One.", "One.", "One. Two.", "One. Two."]);
  });

  it("asks a voice with timings for them, with the voice and format", async () => {
    const { tts, q } = setup({ timings: true, format: "pcm_16000", script: frames(1, 10) });
    q.add("Hello.");
    q.close();
    await q.played;
    expect(tts.calls.map((c) => c.request)).toEqual([{ text: "Hello.", voice: "voice_1", format: "pcm_16000", timestamps: true }]);
  });

  it("heardText() is what the client has heard: from the model, or from its report", async () => {
    const clock = new Clock(1000);
    const script = (text: string, feed: Feed) => {
      if (text === "Hi.") feed.push(chunk(pcm(300), timings("Hi.", 100)));
      else feed.push(chunk(pcm(200), timings("Yo.", 50)));
      feed.end();
    };
    const { q } = setup({ timings: true, now: clock.now, script });
    q.add("Hi.");
    q.add(" Yo.");
    q.close();
    await q.played;
    // All 500 ms were sent at 1000; characters start at 0, 100, 200 and 300, 350, 400.
    expect(q.heardText()).toBe("");
    clock.t = 1150;
    expect(q.heardText()).toBe("Hi");
    clock.t = 1320;
    expect(q.heardText()).toBe("Hi. Y");
    clock.t = 5000;
    expect(q.heardText()).toBe("Hi. Yo.");
    // The client says it is behind: at 5000 it had played 120 ms.
    q.playback.reported(120, 5000);
    expect(q.heardText()).toBe("Hi");
    clock.t = 5100;
    expect(q.heardText()).toBe("Hi.");
  });

  it("strips markdown before synthesis and counts the code points sent to the provider", async () => {
    const { tts, q } = setup({ script: frames(1, 10) });
    q.add("**Bold** move, see [the docs](https://example.test/docs) and `code`.");
    q.add(" # Héllo 👋!");
    q.add(" **");
    q.add("\n> _Quoted_ ~~gone~~ |cell|");
    q.close();
    await q.played;
    // The blank one (markdown only) is not sent at all.
    expect(tts.texts).toEqual(["Bold move, see the docs and code.", "Héllo 👋!", "Quoted gone cell"]);
    // 33 + 8 (the emoji is one code point, two UTF-16 units) + 16.
    expect(q.synthesizedCharacters).toBe(57);
  });

  it("reports the speech's start once, before the first frame, with the time to first byte", async () => {
    const clock = new Clock(500);
    const script = (text: string, feed: Feed) => {
      if (text === "One.") clock.advance(7);
      feed.push(chunk(pcm(10)), chunk(pcm(10))).end();
    };
    const { sink, q } = setup({ now: clock.now, script });
    expect(q.ttsFirstByteMs).toBeNull();
    expect(q.firstAudioAt).toBeNull();
    q.add("One.");
    q.add(" Two.");
    q.close();
    await q.played;
    expect(sink.events.map((e) => e.kind)).toEqual(["started", "audio", "audio", "audio", "audio"]);
    expect(q.speechStarted).toBe(true);
    expect(q.ttsFirstByteMs).toBe(7);
    expect(q.firstAudioAt).toBe(507);
  });
});
