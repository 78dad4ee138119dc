import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Conversation } from "../../src/durable-objects/conversation";
import type { ServerEvent } from "../../src/durable-objects/conversation.protocol";
import { api, expectError, KEYS } from "../helpers/http";
import { connect } from "../helpers/ws";
import { closeTalks, DEEPGRAM_VOICE, installFakes, sentences, talk } from "./fakes";

/**
 * The conversation pipeline against upstream-shaped fakes: an OpenAI model streaming at a set pace,
 * Deepgram speech arriving in chunks, drops, stalls and errors. What the tests check is what a
 * client sees on its socket and what the fakes saw of the pipeline (aborts included).
 */

type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;

afterEach(() => {
  closeTalks();
  vi.restoreAllMocks();
});

const post = (path: string, body: unknown) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("pipelining", () => {
  it("the first audio goes out while the model is still writing, and audio stays in sentence order", async () => {
    const fakes = installFakes({ parts: sentences(5), gapMs: 120 });
    const { socket } = await talk();
    socket.send({ type: "input.text", text: "Talk to me." });
    const first = await socket.next("avatar.audio.delta");
    const llm = fakes.llm[0];
    expect(llm?.finished()).toBe(false);
    expect(llm?.sent()).toBeLessThan(5);
    const done = await socket.next("agent.response.done");
    expect(done.message.content).toBe(sentences(5).join(""));
    expect(first.turn_id).toBe(done.turn_id);

    // The model saw the whole prompt in OpenAI's wire format, streaming.
    expect(llm?.body).toMatchObject({ model: "gpt-4o-mini", stream: true });
    expect((llm?.body.messages as { role: string; content: string }[] | undefined)?.at(-1)).toEqual({ role: "user", content: "Talk to me." });
    const said = socket.events
      .filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta")
      .map((e) => e.alignment?.chars.join(""))
      .join("");
    // The frames' characters joined are the reply, the spaces between sentences included.
    expect(said).toBe(sentences(5).join(""));
    const metrics = await socket.next("metrics.turn");
    expect(metrics.first_audio_ms).toBeLessThan(metrics.total_ms * 0.5);
  });

  it("sentences go to the TTS provider as they complete, several in flight, their audio in order", async () => {
    const fakes = installFakes({ parts: sentences(4), gapMs: 10 }, { gapMs: 30 });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE });
    socket.send({ type: "input.text", text: "Go." });
    await socket.next("agent.response.done");
    expect(fakes.tts.map((c) => c.body.text)).toEqual(sentences(4).map((s) => s.trim()));
    // Sentence 2 was requested before sentence 1's audio had all arrived.
    expect(fakes.tts[1]?.startedAt).toBeLessThan(fakes.tts[0]?.finishedAt() ?? 0);
    const audio = socket.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    const bytes = audio.reduce((n, f) => n + atob(f.audio).length, 0);
    expect(bytes).toBe(sentences(4).reduce((n, s) => n + s.trim().length * 480, 0));
    expect(audio.every((f) => f.alignment === null && f.format === "pcm_24000")).toBe(true);
  });
});

describe("visemes", () => {
  it("a voice without timings still gets visemes on every frame, from its audio, within each frame", async () => {
    installFakes({ parts: sentences(3), gapMs: 10 }, { speech: true, chunkBytes: 9600 });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE });
    socket.send({ type: "input.text", text: "Go." });
    await socket.next("metrics.turn", 20_000);
    const frames = socket.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(frames.length).toBeGreaterThan(5);
    for (const f of frames) {
      expect(f.alignment).toBeNull();
      const visemes = f.visemes;
      expect(visemes, "every frame").not.toBeNull();
      const frameMs = atob(f.audio).length / 48;
      expect(visemes?.ids.length).toBeGreaterThan(0);
      visemes?.start_ms.forEach((start, k) => {
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start + (visemes.duration_ms[k] ?? 0)).toBeLessThanOrEqual(frameMs + 0.1);
        expect(visemes.ids[k]).toBeGreaterThanOrEqual(0);
        expect(visemes.ids[k]).toBeLessThanOrEqual(14);
      });
    }
    // Speech, not only silence: mouths open (aa, E, I, O, U) and close (PP, sil).
    const ids = new Set(frames.flatMap((f) => f.visemes?.ids ?? []));
    expect(ids.has(0)).toBe(true);
    expect([10, 11, 12, 13, 14].some((id) => ids.has(id))).toBe(true);
  });

  it("output_visemes: false sends none", async () => {
    installFakes({ parts: sentences(1), gapMs: 10 }, { speech: true });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE, output_visemes: false });
    socket.send({ type: "input.text", text: "Go." });
    await socket.next("metrics.turn", 20_000);
    const frames = socket.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.visemes === null)).toBe(true);
  });
});

describe("interrupt", () => {
  it("a REST message 50 ms after another interrupts it: the first answers interrupted with output null", async () => {
    installFakes({ parts: ["This", " reply is slow", " to come."], gapMs: 300 });
    const { conv } = await talk();
    const first = post(`/v1/conversations/${conv.id}/messages`, { content: "Tell me a long story." });
    await new Promise((r) => setTimeout(r, 50));
    const second = post(`/v1/conversations/${conv.id}/messages`, { content: "Never mind." });
    const cut = await first;
    expect(cut.status).toBe(201);
    expect(await cut.json()).toMatchObject({ object: "turn", status: "interrupted", input: { content: "Tell me a long story." }, output: null });
    const next = await second;
    expect(next.status).toBe(201);
    expect(await next.json()).toMatchObject({ status: "completed", output: { content: "This reply is slow to come." } });
  });

  // Retried: in about one run of five the object handles the client's avatar.playback *after* the
  // avatar.interrupt sent right behind it. That is the test pool's in-process socket, not the
  // object: frames that queue up while the object is busy are delivered in reverse order there
  // (measured with numbered frames: 33..36 arrive as 36, 35, 34, 33), never over a real socket
  // (5,000 numbered frames over TCP to the same runtime, loaded or not, all in order). The retry
  // keeps the assertion (it still fails when the order is wrong every time).
  it("avatar.interrupt aborts the model and the speech at once; the stored reply is what was said", { retry: 2 }, async () => {
    const fakes = installFakes({ parts: sentences(8), gapMs: 80 });
    const { conv, socket } = await talk();
    socket.send({ type: "input.text", event_id: "q", text: "Go on and on." });
    const first = await socket.next("avatar.audio.delta");
    await socket.next("avatar.audio.delta");
    await socket.next("avatar.audio.delta");
    // The client has played 300 ms of the audio it received, says so, and interrupts.
    socket.send({ type: "avatar.playback", turn_id: first.turn_id, played_ms: 300 });
    socket.send({ type: "avatar.interrupt" });
    const interrupted = await socket.next("avatar.interrupted");
    await vi.waitFor(() => expect(fakes.llm[0]?.aborted()).toBe(true));
    expect(fakes.llm[0]?.sent()).toBeLessThan(8);

    // What is kept is what was heard: every character whose audio started before the reported
    // position (carried forward by the few milliseconds until the interrupt arrived), no more.
    const audio = socket.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    const timeline = charTimeline(audio);
    const startedBefore = (ms: number) =>
      timeline
        .filter((c) => c.atMs < ms)
        .map((c) => c.char)
        .join("");
    expect(startedBefore(300).length).toBeGreaterThan(0);
    expect(interrupted.spoken_text.length).toBeGreaterThanOrEqual(startedBefore(300).trim().length);
    expect(interrupted.spoken_text.length).toBeLessThanOrEqual(startedBefore(500).trim().length);
    expect(startedBefore(500).startsWith(interrupted.spoken_text)).toBe(true);
    expect(sentences(8).join("").startsWith(interrupted.spoken_text)).toBe(true);
    expect(interrupted.reply_to).toBe("q");

    // After the interruption: speech stopped, the partial reply stored, and no more audio.
    const at = socket.events.indexOf(interrupted);
    await socket.next("metrics.turn");
    expect(socket.events.slice(at + 1, socket.position).map((e) => e.type)).toEqual(["avatar.speech.stopped", "message.created", "metrics.turn"]);
    const stored = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: { role: string; content: string; interrupted: boolean }[] };
    expect(stored.messages.at(-1)).toMatchObject({ role: "assistant", content: interrupted.spoken_text, interrupted: true });
  });

  it("aborts the speech upstream too", async () => {
    const fakes = installFakes({ parts: sentences(2), gapMs: 0 }, { gapMs: 60, chunkBytes: 2400 });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE });
    socket.send({ type: "input.text", text: "Speak slowly." });
    await socket.next("avatar.audio.delta");
    socket.send({ type: "avatar.interrupt" });
    const interrupted = await socket.next("avatar.interrupted");
    await vi.waitFor(() => expect(fakes.tts.every((c) => c.aborted() || c.finished())).toBe(true));
    expect(fakes.tts.some((c) => c.aborted())).toBe(true);
    // Without timings a sentence counts as said once its audio has started.
    expect(interrupted.spoken_text).toBe(sentences(1)[0]);
  });

  it("a new input.text during a reply interrupts it first", async () => {
    installFakes({ parts: sentences(6), gapMs: 60 });
    const { socket } = await talk();
    socket.send({ type: "input.text", event_id: "first", text: "Long answer please." });
    await socket.next("avatar.audio.delta");
    socket.send({ type: "input.text", event_id: "second", text: "Actually, stop." });
    const interrupted = await socket.next("avatar.interrupted");
    expect(interrupted.reply_to).toBe("first");
    const next = await socket.next("message.created");
    // The interrupted reply is stored first, then the new turn starts.
    expect(next.message).toMatchObject({ role: "assistant", interrupted: true });
    const newTurn = await socket.next("message.created");
    expect(newTurn).toMatchObject({ reply_to: "second", message: { role: "user", content: "Actually, stop." } });
    expect(newTurn.seq).toBeGreaterThan(interrupted.seq ?? Number.POSITIVE_INFINITY);
    await socket.next("agent.response.done");
  });
});

describe("upstream failures", () => {
  it("the model's stream dropping mid-reply: an error event, the said part kept, the conversation usable", async () => {
    const fakes = installFakes({ parts: sentences(5), gapMs: 30, dropAfter: 2 });
    const { conv, socket } = await talk();
    socket.send({ type: "input.text", event_id: "q1", text: "Hello?" });
    const error = await socket.next("error");
    expect(error).toMatchObject({ code: "provider.unavailable", reply_to: "q1" });
    expect(error.message).not.toContain("fake-openai.test");
    expect(error.message).not.toContain("sk-fake");
    await socket.next("metrics.turn");

    fakes.setLlm({ parts: ["All good now."] });
    socket.send({ type: "input.text", text: "Again?" });
    expect((await socket.next("agent.response.done")).message.content).toBe("All good now.");
    const stored = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { messages: { role: string; interrupted: boolean }[] };
    expect(stored.messages.map((m) => [m.role, m.interrupted])).toEqual([
      ["user", false],
      ["assistant", true],
      ["user", false],
      ["assistant", false],
    ]);
  });

  it("a 500 from the model: a typed error on the socket, a 503 over REST, and the next turn works", async () => {
    const fakes = installFakes({ parts: [], status: 500 });
    const { conv, socket } = await talk();
    socket.send({ type: "input.text", text: "Hi." });
    expect(await socket.next("error")).toMatchObject({ code: "provider.unavailable" });
    await expectError(await post(`/v1/conversations/${conv.id}/messages`, { content: "Hi?" }), 503, {
      type: "service_unavailable",
      code: "provider.unavailable",
    });
    fakes.setLlm({ parts: ["Back."] });
    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Now?" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { output: { content: string } }).output.content).toBe("Back.");
  });

  it("a model that never answers is provider.timeout within its bound", async () => {
    installFakes({ parts: [], stall: true });
    const { socket } = await talk();
    const started = Date.now();
    socket.send({ type: "input.text", text: "Anyone?" });
    expect(await socket.next("error", 3000)).toMatchObject({ code: "provider.timeout" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("speech failing mid-reply stops the model too", async () => {
    const fakes = installFakes({ parts: sentences(6), gapMs: 50 }, { status: 500 });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE });
    socket.send({ type: "input.text", text: "Say things." });
    expect(await socket.next("error")).toMatchObject({ code: "provider.unavailable" });
    await vi.waitFor(() => expect(fakes.llm[0]?.aborted()).toBe(true));
    expect(fakes.llm[0]?.sent()).toBeLessThan(6);
    await socket.next("metrics.turn");
  });
});

describe("resume mid-turn", () => {
  it("disconnect during a reply, restart the object, reconnect with last_seq: every missed event once, in order, no seq reused, then live", async () => {
    const fakes = installFakes({ parts: sentences(6), gapMs: 60 });
    const { conv, socket } = await talk();
    socket.send({ type: "input.text", text: "Tell me everything." });
    await socket.next("avatar.audio.delta");
    const seen = socket.events.at(-1)?.seq ?? 0;
    socket.close();
    // The reply goes on without the socket; then the object is restarted mid-reply.
    await new Promise((r) => setTimeout(r, 150));
    await abortAllDurableObjects();

    const back = await connect(conv.id, { lastSeq: seen });
    const ready = await back.next("session.ready");
    const stub = env.CONVERSATION.getByName(conv.id) as DurableObjectStub<Conversation>;
    const stored = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ frame: string }>("SELECT frame FROM events WHERE seq > ? ORDER BY seq", seen)
        .toArray()
        .map((r) => r.frame),
    );
    expect(ready.replay).toEqual({ after_seq: seen, events: stored.length, complete: true });
    await back.until(() => back.frames.length === 1 + stored.length, "the replay");
    expect(back.frames.slice(1)).toEqual(stored);
    const replayed = back.events.slice(1);
    // The reply cut off by the restart was closed as interrupted, not left hanging, and ends with
    // its metrics.turn like every turn.
    const cut = replayed.find((e) => e.type === "avatar.interrupted");
    expect(cut).toBeDefined();
    const closing = replayed.slice(replayed.indexOf(cut as ServerEvent));
    expect(closing.at(-1)).toMatchObject({ type: "metrics.turn", turn_id: (cut as { turn_id: string }).turn_id, first_audio_ms: null });
    // What was logged before the restart follows on without a gap; the closing goes on past every
    // seq the reply could have sent before writing it (its events leave first), so none is reused.
    const seqs = (events: ServerEvent[]) => events.map((e) => e.seq ?? 0);
    const before = replayed.slice(0, replayed.indexOf(cut as ServerEvent));
    expect(seqs(before)).toEqual(before.map((_, i) => seen + 1 + i));
    const firstClosing = closing[0]?.seq ?? 0;
    expect(firstClosing).toBeGreaterThan(seen + before.length);
    expect(firstClosing).toBeLessThanOrEqual(seen + before.length + 1 + 256);
    expect(seqs(closing)).toEqual(closing.map((_, i) => firstClosing + i));

    // Live again, in sequence.
    back.position = back.events.length;
    fakes.setLlm({ parts: ["Here again."] });
    back.send({ type: "input.text", text: "Still there?" });
    const live = await back.next("message.created");
    expect(live.seq).toBe((closing.at(-1)?.seq ?? 0) + 1);
    expect((await back.next("agent.response.done")).message.content).toBe("Here again.");
    back.close();
  });
});

describe("security of the fakes' settings", () => {
  it("errors never carry the upstream key or host", async () => {
    installFakes({ parts: [], status: 401 });
    const { conv } = await talk();
    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Hi." });
    const text = await res.text();
    expect(res.status).toBe(503);
    for (const secret of ["sk-fake-conversations-0001", "fake-openai.test"]) expect(text).not.toContain(secret);
    expect(KEYS.demo).toBeTruthy();
  });
});

/** Each character of the turn's audio frames with its start in the turn's audio (PCM16 at 24 kHz). */
function charTimeline(frames: Of<"avatar.audio.delta">[]): { char: string; atMs: number }[] {
  const out: { char: string; atMs: number }[] = [];
  let frameStart = 0;
  for (const frame of frames) {
    const chars = frame.alignment?.chars ?? [];
    for (const [i, char] of chars.entries()) out.push({ char, atMs: frameStart + (frame.alignment?.start_ms[i] ?? 0) });
    frameStart += atob(frame.audio).length / 48;
  }
  return out;
}
