import { describe, expect, it, vi } from "vitest";
import { mock } from "../../src/providers/tts/mock";
import type { AudioFormat } from "../../src/providers/tts/types";
import { log, testConfig } from "./conversation-fakes";

/**
 * The built-in voice streams: a chunk leaves as soon as it is made, so the first audio does not
 * wait for the second to be rendered. Only a resampled format holds one chunk back, so the
 * resampler's last samples join the last chunk. `synthesize` is wrapped to count the chunks rendered.
 */
const rendered = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/providers/tts/mock-speech", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/providers/tts/mock-speech")>();
  return {
    ...real,
    *synthesize(...args: Parameters<typeof real.synthesize>) {
      for (const chunk of real.synthesize(...args)) {
        rendered.count += 1;
        yield chunk;
      }
    },
  };
});

const TEXT = "The quick brown fox jumps over the lazy dog, and then it rests for a while in the sun.";

/** How many chunks had been rendered when the first one arrived, and every chunk's size. */
async function stream(format: AudioFormat) {
  rendered.count = 0;
  const speech = await mock.synthesize(
    { text: TEXT, voice: "warm", format, timestamps: true },
    { signal: new AbortController().signal, config: testConfig(), log },
  );
  let renderedAtFirst: number | undefined;
  const sizes: number[] = [];
  for await (const chunk of speech.chunks) {
    renderedAtFirst ??= rendered.count;
    sizes.push(chunk.audio.length);
  }
  return { renderedAtFirst, sizes, renderedInAll: rendered.count };
}

describe("the mock voice's stream", () => {
  it("pcm_24000 and wav: the first chunk leaves before the second is rendered", async () => {
    for (const format of ["pcm_24000", "wav"] as const) {
      const { renderedAtFirst, sizes, renderedInAll } = await stream(format);
      expect(renderedAtFirst).toBe(1);
      expect(sizes.length).toBe(renderedInAll);
      expect(renderedInAll).toBeGreaterThan(2);
    }
  });

  it("pcm_16000: one chunk is held, and the resampler's tail joins the last chunk (no frame of its own)", async () => {
    const { renderedAtFirst, sizes, renderedInAll } = await stream("pcm_16000");
    expect(renderedAtFirst).toBe(2);
    expect(sizes.length).toBe(renderedInAll);
    // Every frame carries real audio: none is a tail of a few samples.
    expect(Math.min(...sizes)).toBeGreaterThan(100);
  });
});
