import { describe, expect, it } from "vitest";
import type { ServerEvent } from "../src/durable-objects/conversation.protocol";
import { api, expectError } from "./helpers/http";
import { createConversation, socketsClosedAfterEach } from "./helpers/ws";

/**
 * Visemes through the API: on every frame of a conversation's audio (the mock voice gives timings,
 * so they follow its characters), off with `output_visemes: false`, and as NDJSON lines of
 * `POST /v1/tts`. (A voice without timings is tested against a fake Deepgram in
 * upstreams/conversation-pipeline; accuracy and timing error in unit/visemes.)
 */

const { open } = socketsClosedAfterEach();
type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;
interface Line {
  audio: string;
  alignment: { chars: string[] } | null;
  visemes: { ids: number[]; start_ms: number[]; duration_ms: number[] };
}

const tts = (body: Record<string, unknown>) => api("/v1/tts", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("visemes in a conversation", () => {
  it("come with every audio frame, within the frame, in the order the words are said", async () => {
    const conv = await createConversation({ audio_lead_ms: 600_000 });
    expect(conv.output_visemes).toBe(true);
    const ws = await open(conv.id);
    ws.send({ type: "avatar.speak", text: "Good morning, Mr. Smith." });
    await ws.next("metrics.turn", 15_000);
    const frames = ws.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) {
      const frameMs = atob(f.audio).length / 48;
      for (const [k, s] of (f.visemes?.start_ms ?? []).entries()) expect(s + (f.visemes?.duration_ms[k] ?? 0)).toBeLessThanOrEqual(frameMs + 0.1);
    }
    const ids = frames.flatMap((f) => f.visemes?.ids ?? []);
    // good (kk U DD) morning (PP O RR nn I nn) , (sil) mister (PP I SS DD RR) smith (SS PP I TH) . (sil)
    expect(ids).toEqual([5, 14, 4, 1, 13, 9, 8, 12, 8, 0, 1, 12, 7, 4, 9, 7, 1, 12, 3, 0]);
  });

  it("are left out with output_visemes: false", async () => {
    const conv = await createConversation({ audio_lead_ms: 600_000, output_visemes: false });
    expect(conv.output_visemes).toBe(false);
    const ws = await open(conv.id);
    ws.send({ type: "avatar.speak", text: "Nothing to see here." });
    await ws.next("metrics.turn", 15_000);
    const frames = ws.events.filter((e): e is Of<"avatar.audio.delta"> => e.type === "avatar.audio.delta");
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.visemes === null)).toBe(true);
  });

  it("output_visemes must be a boolean", async () => {
    const res = await api("/v1/conversations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ avatar_id: "av_demo", output_visemes: "yes" }),
    });
    await expectError(res, 400, { type: "invalid_request", code: "parameter.invalid", param: "output_visemes" });
  });
});

describe("POST /v1/tts with visemes", () => {
  it("answers NDJSON lines with visemes (and the voice's timings) for PCM and WAV", async () => {
    for (const format of ["pcm_16000", "wav"]) {
      const res = await tts({ text: "Hello world.", format, visemes: true });
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Line);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.map((l) => l.alignment?.chars.join("")).join("")).toBe("Hello world.");
      // hello (kk aa nn O: CMUdict says HH AH0 L OW1) world (U RR nn DD) . (sil)
      expect(lines.flatMap((l) => l.visemes.ids)).toEqual([5, 10, 8, 13, 14, 9, 8, 4, 0]);
    }
  });

  it("refuses mp3 (visemes are read from PCM) with param format", async () => {
    await expectError(await tts({ text: "Hello.", format: "mp3", visemes: true }), 422, { type: "unprocessable", code: "format.unsupported", param: "format" });
  });
});
