import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sources } from "../../src/cli/visemes-data.mjs";
import { mockVoice, synthesize } from "../../src/providers/tts/mock-speech";
import { parseG2p, VISEME_CHARS, VISEMES } from "../../src/providers/visemes/g2p";
import { numberWords, planVisemes } from "../../src/providers/visemes/plan";
import { Pace, type Visemes, VisemeTrack, voicedMs } from "../../src/providers/visemes/track";

/**
 * Visemes: accuracy of the English letter-to-viseme data on common words it never saw, and of
 * timing from audio alone against the mock voice's true timings; the figures are printed for the
 * README and the closing note.
 */

const g2p = parseG2p(readFileSync(new URL("../../src/providers/visemes/g2p-en.txt", import.meta.url), "utf8"));

/** Edits (insertions, deletions, substitutions) between two viseme strings. */
function edits(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length] ?? 0;
}

describe("letters to visemes (English)", () => {
  it("gets ≥ 90 % of visemes right on common words held out of its data (CMUdict as the reference)", async () => {
    const { heldOut, visemes } = await sources();
    let exact = 0;
    let errors = 0;
    let total = 0;
    for (const word of heldOut) {
      const reference = visemes(word);
      const said = g2p.word(word);
      if (said === reference) exact++;
      errors += edits(reference, said);
      total += reference.length;
    }
    const perViseme = 1 - errors / total;
    console.log(`held-out words: ${heldOut.length}; exact ${((100 * exact) / heldOut.length).toFixed(1)} %; per viseme ${(100 * perViseme).toFixed(1)} %`);
    expect(heldOut.length).toBeGreaterThan(2500);
    expect(perViseme).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it("knows the common words exactly, and the fifteen OVR visemes in their order", () => {
    expect(VISEMES).toEqual(["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U"]);
    expect(VISEME_CHARS.length).toBe(15);
    // though, knight, phone: the letters a renderer cannot read.
    expect(g2p.word("though")).toBe("To");
    expect(g2p.word("knight")).toBe("NaD");
    expect(g2p.word("phone")).toBe("FoN");
  });

  it("says numbers, abbreviations and initialisms as words, and pauses at punctuation", () => {
    expect(numberWords(12_500)).toBe("twelve thousand five hundred");
    expect(numberWords(2026)).toBe("two thousand twenty six");
    const at = (text: string) =>
      planVisemes(text, g2p)
        .map((p) => p.viseme)
        .join("");
    expect(at("Dr. Smith paid 3.5 dollars.")).toBe(
      `${g2p.word("doctor")}${g2p.word("smith")}${g2p.word("paid")}${g2p.word("three")}${g2p.word("point")}${g2p.word("five")}${g2p.word("dollars")}_`,
    );
    expect(at("The API, please")).toBe(`${g2p.word("the")}${g2p.word("a")}${g2p.word("p")}${g2p.word("i")}_${g2p.word("please")}`);
  });
});

describe("timing", () => {
  const voice = mockVoice("warm");
  if (!voice) throw new Error("no mock voice");
  const SENTENCES = [
    "Thanks for your message about the delivery.",
    "Your order left the warehouse this morning, and it should arrive on Friday.",
    "If anything goes wrong, reply here and we will sort it out together.",
    "Would you like me to send you the tracking number as well?",
  ];

  /** Frames of a sentence: PCM bytes and the mock's true character timings. */
  const framesOf = (text: string) =>
    [...synthesize(text, voice, { chunkMs: 100 })].map((c) => ({
      audio: new Uint8Array(c.pcm.buffer, c.pcm.byteOffset, c.pcm.byteLength),
      alignment: c.alignment,
    }));

  it("from audio alone, viseme onsets are within 40 ms of the true ones at the median (mock speech)", () => {
    const errors: number[] = [];
    const pace = new Pace();
    let cpuMs = 0;
    let audioMs = 0;
    for (const text of SENTENCES) {
      const frames = framesOf(text);
      const plan = planVisemes(text, g2p);
      const truth = new VisemeTrack(plan, 24_000, new Pace());
      for (const f of frames) truth.frame(f.audio, f.alignment, null);
      const started = performance.now();
      const estimate = new VisemeTrack(plan, 24_000, pace);
      frames.forEach((f, i) => {
        const rest = frames.slice(i).reduce((n, g) => n + voicedMs(g.audio, 24_000), 0);
        const visemes = estimate.frame(f.audio, null, rest);
        const frameMs = f.audio.byteLength / 48;
        for (const [k, s] of visemes.start_ms.entries()) expect(s + (visemes.duration_ms[k] ?? 0)).toBeLessThanOrEqual(frameMs + 0.1);
      });
      estimate.finish();
      cpuMs += performance.now() - started;
      audioMs += frames.reduce((n, f) => n + f.audio.byteLength / 48, 0);
      plan.forEach((p, i) => {
        const t = truth.onsets[i] ?? Number.NaN;
        const e = estimate.onsets[i] ?? Number.NaN;
        if (p.viseme !== "_" && Number.isFinite(t) && Number.isFinite(e)) errors.push(Math.abs(t - e));
      });
    }
    errors.sort((a, b) => a - b);
    const median = errors[Math.floor(errors.length / 2)] ?? Number.NaN;
    console.log(
      `onset error from audio alone: median ${median.toFixed(1)} ms, p90 ${(errors[Math.floor(errors.length * 0.9)] ?? 0).toFixed(1)} ms over ${errors.length} visemes; CPU ${((cpuMs / audioMs) * 1000).toFixed(2)} ms per second of speech`,
    );
    expect(errors.length).toBeGreaterThan(100);
    expect(median).toBeLessThanOrEqual(40);
  });

  it("without the sentence's length known, the pace of the sentences before is the guess", () => {
    const pace = new Pace();
    const errors: number[] = [];
    for (const text of SENTENCES) {
      const frames = framesOf(text);
      const plan = planVisemes(text, g2p);
      const truth = new VisemeTrack(plan, 24_000, new Pace());
      for (const f of frames) truth.frame(f.audio, f.alignment, null);
      const estimate = new VisemeTrack(plan, 24_000, pace);
      for (const f of frames) estimate.frame(f.audio, null, null);
      estimate.finish();
      plan.forEach((p, i) => {
        const t = truth.onsets[i] ?? Number.NaN;
        const e = estimate.onsets[i] ?? Number.NaN;
        if (p.viseme !== "_" && Number.isFinite(t) && Number.isFinite(e)) errors.push(Math.abs(t - e));
      });
    }
    errors.sort((a, b) => a - b);
    const median = errors[Math.floor(errors.length / 2)] ?? Number.NaN;
    console.log(`onset error, streaming (pace learnt): median ${median.toFixed(1)} ms over ${errors.length} visemes`);
    expect(median).toBeLessThanOrEqual(80);
  });

  it("with timings, every viseme of the sentence is sent once, in order, within its frame", () => {
    const text = SENTENCES[1] ?? "";
    const plan = planVisemes(text, g2p);
    const track = new VisemeTrack(plan, 24_000, new Pace());
    const all: Visemes[] = framesOf(text).map((f) => {
      const v = track.frame(f.audio, f.alignment, null);
      for (const [k, s] of v.start_ms.entries()) expect(s + (v.duration_ms[k] ?? 0)).toBeLessThanOrEqual(f.audio.byteLength / 48 + 0.1);
      return v;
    });
    expect(all.flatMap((v) => v.ids)).toEqual(plan.map((p) => VISEME_CHARS.indexOf(p.viseme)));
  });
});
