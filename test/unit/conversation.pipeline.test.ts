import { describe, expect, it } from "vitest";
import { runTurn, type TurnContext, type TurnInput, type TurnOutcome, type TurnTools } from "../../src/durable-objects/conversation/pipeline";
import { Playback } from "../../src/durable-objects/conversation/playback";
import { ApiError } from "../../src/lib/errors";
import type { ChatEvent, ChatRequest } from "../../src/providers/llm/types";
import {
  alignedText,
  Clock,
  chunk,
  delta,
  FakeLlm,
  FakeTts,
  type Feed,
  log,
  pcm,
  RecordingSink,
  sleep,
  testConfig,
  timings,
  untilAborted,
} from "./conversation-fakes";

/** One turn: the LLM's text cut into sentences, each spoken as it completes, reported to a sink. */

const HUGE_LEAD = 1e9;

const request: ChatRequest = {
  model: "fake-model",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello?" },
  ],
};

interface Setup {
  tts?: FakeTts;
  clock?: Clock;
  playback?: Playback;
  leadMs?: number;
  announced?: Promise<void>;
}

/** Two frames of 40 ms per sentence, with timings. */
const timedFrames = (text: string, feed: Feed) => {
  const half = Math.ceil(text.length / 2);
  feed.push(chunk(pcm(40), timings(text.slice(0, half))), chunk(pcm(40), timings(text.slice(half)))).end();
};

function setup(options: Setup = {}) {
  const playback = options.playback ?? new Playback();
  const clock = options.clock ?? new Clock(1000);
  const tts = options.tts ?? new FakeTts(true, timedFrames);
  const sink = new RecordingSink(clock.now);
  const abort = new AbortController();
  const ctx: TurnContext = {
    signal: abort.signal,
    config: testConfig(),
    log,
    now: clock.now,
    playback,
    ...(options.announced ? { announced: options.announced } : {}),
  };
  const run = (input: TurnInput): Promise<TurnOutcome> =>
    runTurn(input, { provider: tts, voice: "voice_1", format: "pcm_24000", leadMs: options.leadMs ?? HUGE_LEAD }, sink, ctx);
  return { clock, tts, sink, abort, run, playback };
}

const reply = (llm: FakeLlm): TurnInput => ({ kind: "reply", llm, request });

describe("runTurn, completed", () => {
  it("streams the reply as text and speech and reports it, with metrics and the provider's usage", async () => {
    const { clock, tts, sink, run } = setup({
      tts: new FakeTts(true, (text, feed, call) => {
        if (call === 0) clock.advance(7); // the first sentence's first byte takes 7 ms
        timedFrames(text, feed);
      }),
    });
    const llm = new FakeLlm(async function* () {
      clock.advance(30); // the first token takes 30 ms
      yield delta("Hello there. ");
      yield { type: "delta", tool_calls: [] }; // no text: skipped
      yield delta("How are you?");
      yield { type: "finish", finish_reason: "stop" };
      yield { type: "usage", usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } };
    });
    const outcome = await run(reply(llm));
    const text = "Hello there. How are you?";
    expect(outcome).toEqual({
      status: "completed",
      text,
      spoken: text,
      speechStarted: true,
      metrics: { llm_first_token_ms: 30, tts_first_byte_ms: 7, first_audio_ms: 37, total_ms: 37, tool_ms: null },
      usage: { ttsCharacters: 24, llmInputTokens: 11, llmOutputTokens: 7, llmEstimatedTokens: 0 },
      endConversation: false,
    });
    expect(llm.requests).toEqual([request]);
    expect(tts.texts).toEqual(["Hello there.", "How are you?"]);
    expect(sink.deltas).toEqual(["Hello there. ", "How are you?"]);
    // The speech starts once, before its first frame, and the frames spell the reply.
    const kinds = sink.events.filter((e) => e.kind !== "delta").map((e) => e.kind);
    expect(kinds).toEqual(["started", "audio", "audio", "audio", "audio"]);
    expect(alignedText(sink)).toBe(text);
    expect(sink.frames.at(-1)?.spoken).toBe(text);
  });

  it("joins one answer's tokens as the model wrote them, and sets a tool round's answer apart from the text before it", async () => {
    const { sink, run } = setup();
    let round = 0;
    const llm = new FakeLlm(async function* () {
      if (round++ === 0) {
        for (const token of ["Let", " me", " check", "."]) yield delta(token);
        yield { type: "delta", tool_calls: [{ index: 0, id: "call_1", function: { name: "lookup", arguments: "{}" } }] };
      } else {
        for (const token of ["It", "'s", " sunny", ",", " mostly", "."]) yield delta(token);
      }
      yield { type: "finish", finish_reason: "stop" };
    });
    const tools: TurnTools = {
      definitions: [],
      run: async (calls) => calls.map(() => ({ content: "{}", isError: false })),
      filler: () => null,
      goodbye: "Goodbye.",
    };
    const outcome = await run({ kind: "reply", llm, request, tools });
    expect(outcome.text).toBe("Let me check. It's sunny, mostly.");
    expect(sink.deltas.join("")).toBe(outcome.text);
  });

  it("holds the reply's first event until the turn's input is announced (the model is asked before it)", async () => {
    let announce = () => {};
    const announced = new Promise<void>((resolve) => (announce = resolve));
    const { sink, run } = setup({ announced });
    const llm = new FakeLlm(async function* () {
      yield delta("Hello there.");
      yield { type: "finish", finish_reason: "stop" };
    });
    const outcome = run(reply(llm));
    await sleep(20);
    expect(llm.requests).toHaveLength(1);
    expect(sink.events).toEqual([]);
    announce();
    expect((await outcome).status).toBe("completed");
    expect(sink.deltas).toEqual(["Hello there."]);
  });

  it("estimates the tokens when the provider reports none", async () => {
    const { run } = setup();
    const llm = new FakeLlm(async function* () {
      yield delta("Hello there. How are you?");
      yield { type: "finish", finish_reason: "stop" };
    });
    const outcome = await run(reply(llm));
    expect(outcome.status).toBe("completed");
    // About four characters a token plus four a message: "Be brief." 3 + 4, "Hello?" 2 + 4; the reply 7 + 4.
    expect(outcome.usage).toEqual({ ttsCharacters: 24, llmInputTokens: 13, llmOutputTokens: 11, llmEstimatedTokens: 24 });
  });

  it("speaks a `speak` input exactly, without the LLM", async () => {
    const { tts, sink, run } = setup();
    const text = "Say this. And that.";
    const outcome = await run({ kind: "speak", text });
    expect(outcome.status).toBe("completed");
    expect(outcome.text).toBe(text);
    expect(outcome.spoken).toBe(text);
    expect(outcome.speechStarted).toBe(true);
    expect(outcome.usage).toEqual({ ttsCharacters: 18, llmInputTokens: 0, llmOutputTokens: 0, llmEstimatedTokens: 0 });
    expect(outcome.metrics.llm_first_token_ms).toBeNull();
    expect(outcome.metrics.first_audio_ms).toBe(0);
    expect(sink.deltas).toEqual([text]);
    expect(tts.texts).toEqual(["Say this.", "And that."]);
    expect(alignedText(sink)).toBe(text);
  });

  it("completes a reply with no text without speaking", async () => {
    const { tts, sink, run } = setup();
    const llm = new FakeLlm(async function* () {
      yield { type: "finish", finish_reason: "stop" };
    });
    const outcome = await run(reply(llm));
    expect(outcome).toMatchObject({ status: "completed", text: "", spoken: "", speechStarted: false });
    expect(outcome.metrics).toEqual({ llm_first_token_ms: null, tts_first_byte_ms: null, first_audio_ms: null, total_ms: 0, tool_ms: null });
    expect(outcome.usage.llmOutputTokens).toBe(0);
    expect(tts.calls).toHaveLength(0);
    expect(sink.events).toEqual([]);
  });
});

describe("runTurn, interrupted", () => {
  /** A reply whose first sentence is spoken (one 400 ms frame, a character every 50 ms), then the model stalls. */
  function stalledReply() {
    const env = setup({
      tts: new FakeTts(true, (text, feed) => feed.push(chunk(pcm(400), timings(text, 50))).end()),
    });
    const llm = new FakeLlm(async function* (signal) {
      yield delta("One two. ");
      yield delta("Three");
      await untilAborted(signal);
    });
    return { ...env, llm, outcome: env.run(reply(llm)) };
  }

  it("stops the model and the speech, and keeps as spoken what the client could have heard", async () => {
    const { clock, sink, abort, llm, outcome } = stalledReply();
    await sink.framesSent(1);
    // 150 ms after the audio went out: "O", "n", "e" started at 0, 50 and 100; " " starts at 150.
    clock.advance(150);
    abort.abort(new Error("interrupted"));
    const result = await outcome;
    expect(result.status).toBe("interrupted");
    expect(result.text).toBe("One two. Three");
    expect(result.spoken).toBe("One");
    expect(result.speechStarted).toBe(true);
    expect(result).not.toHaveProperty("error");
    expect(result.metrics).toEqual({ llm_first_token_ms: 0, tts_first_byte_ms: 0, first_audio_ms: 0, total_ms: 150, tool_ms: null });
    expect(result.usage.ttsCharacters).toBe(8);
    expect(llm.signal?.aborted).toBe(true);
    await sleep(20);
    expect(sink.frames).toHaveLength(1);
  });

  it("cuts what is spoken at the client's own report, carried forward", async () => {
    const { clock, sink, abort, outcome, playback } = stalledReply();
    await sink.framesSent(1);
    clock.advance(300);
    // The client started late: at 300 ms it had played 60 ms; 40 ms later, 100 ms.
    playback.reported(60, clock.t);
    clock.advance(40);
    abort.abort();
    const result = await outcome;
    expect(result.status).toBe("interrupted");
    expect(result.spoken).toBe("On");
  });

  it("closes a turn interrupted before it started as interrupted, with nothing spoken", async () => {
    const { tts, sink, abort, run } = setup();
    abort.abort();
    const llm = new FakeLlm(async function* () {
      yield delta("Never said.");
    });
    const result = await run(reply(llm));
    expect(result).toMatchObject({ status: "interrupted", text: "", spoken: "", speechStarted: false });
    expect(result).not.toHaveProperty("error");
    expect(tts.calls).toHaveLength(0);
    expect(sink.events).toEqual([]);
  });

  it("keeps nothing as spoken when interrupted before any audio", async () => {
    const tts = new FakeTts(true); // never sends audio
    const { abort, run } = setup({ tts });
    const llm = new FakeLlm(async function* (signal) {
      yield delta("Hello there. ");
      await untilAborted(signal);
    });
    const outcome = run(reply(llm));
    await sleep(10);
    abort.abort();
    const result = await outcome;
    expect(result).toMatchObject({ status: "interrupted", text: "Hello there. ", spoken: "", speechStarted: false });
    expect(tts.calls[0]?.signal.aborted).toBe(true);
  });
});

describe("runTurn, failed", () => {
  it("fails with the LLM's error when the model cannot be reached", async () => {
    const failure = new ApiError("provider.unavailable", "The model is unavailable.");
    const { tts, sink, run } = setup();
    const llm = new FakeLlm(async function* () {}, failure);
    const result = await run(reply(llm));
    expect(result.status).toBe("failed");
    expect(result.error).toBe(failure);
    expect(result).toMatchObject({ text: "", spoken: "", speechStarted: false });
    expect(result.metrics).toEqual({ llm_first_token_ms: null, tts_first_byte_ms: null, first_audio_ms: null, total_ms: 0, tool_ms: null });
    expect(result.usage).toMatchObject({ ttsCharacters: 0, llmOutputTokens: 0 });
    expect(tts.calls).toHaveLength(0);
    expect(sink.events).toEqual([]);
  });

  it("fails with the LLM's error midway, keeping as spoken what was sent", async () => {
    const failure = new ApiError("provider.timeout", "The model stopped answering.");
    const { sink, run } = setup();
    const llm = new FakeLlm(async function* () {
      yield delta("One. ");
      // Fail once the first sentence's audio is out.
      await sink.framesSent(2);
      yield delta("Two");
      throw failure;
    });
    const result = await run(reply(llm));
    expect(result.status).toBe("failed");
    expect(result.error).toBe(failure);
    expect(result.text).toBe("One. Two");
    expect(result.spoken).toBe("One.");
    expect(result.speechStarted).toBe(true);
  });

  it("stops the LLM when speech fails mid-reply, and fails with the speech error", async () => {
    const failure = new ApiError("provider.unavailable", "The speech provider is unavailable.");
    const tts = new FakeTts(true, (text, feed) => {
      if (text === "One.") timedFrames(text, feed);
      else feed.push(chunk(pcm(40), timings("Tw"))).fail(failure);
    });
    const { sink, run } = setup({ tts });
    let reachedEnd = false;
    const llm = new FakeLlm(async function* (signal) {
      yield delta("One. ");
      yield delta("Two. ");
      yield delta("Three");
      await untilAborted(signal);
      reachedEnd = true;
    });
    const result = await run(reply(llm));
    expect(llm.signal?.aborted).toBe(true);
    expect(llm.signal?.reason).toBe(failure);
    expect(reachedEnd).toBe(false);
    expect(result.status).toBe("failed");
    expect(result.error).toBe(failure);
    expect(result.text).toBe("One. Two. Three");
    // What went out as audio: the first sentence and the start of the second.
    expect(result.spoken).toBe("One. Tw");
    expect(sink.frames).toHaveLength(3);
  });

  it("fails with the speech error when speech fails after the model has finished", async () => {
    const failure = new ApiError("provider.timeout", "The speech provider stopped sending audio.");
    const tts = new FakeTts(true, (_text, feed) => {
      feed.fail(failure);
    });
    const { run } = setup({ tts });
    const llm = new FakeLlm(async function* (): AsyncGenerator<ChatEvent> {
      yield delta("Only sentence.");
      yield { type: "finish", finish_reason: "stop" };
    });
    const result = await run(reply(llm));
    expect(result.status).toBe("failed");
    expect(result.error).toBe(failure);
    expect(result.text).toBe("Only sentence.");
    expect(result.spoken).toBe("");
  });
});
