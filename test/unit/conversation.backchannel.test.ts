import { describe, expect, it } from "vitest";
import { defaultIgnoreWords } from "../../src/db/voice-input";
import { isBackchannel, mayBeBackchannel, phrasesOf, words } from "../../src/durable-objects/conversation/backchannel";

/** Backchannels: transcripts that are only "uh-huh", "yeah", "okay"... do not interrupt the avatar. */

const EN = phrasesOf(defaultIgnoreWords("en"));

describe("words", () => {
  it("compares without case, punctuation or hyphens, keeping apostrophes", () => {
    expect(words("Uh-huh. YEAH, okay!")).toEqual(["uh", "huh", "yeah", "okay"]);
    expect(words("d'accord…")).toEqual(["d'accord"]);
    expect(words("  ")).toEqual([]);
  });
});

describe("isBackchannel", () => {
  it("is true for transcripts made only of ignore words and phrases", () => {
    for (const text of ["uh-huh", "Uh huh.", "Mm-hmm", "yeah, okay", "Right. I see.", "ok ok ok", "Got it."])
      expect({ text, is: isBackchannel(text, EN) }).toEqual({ text, is: true });
  });

  it("is false as soon as one word is not, and for nothing at all", () => {
    for (const text of ["Stop right there.", "yeah but wait", "okay, tell me more", "", "[unrecognised audio, 0.4 s]"]) {
      expect({ text, is: isBackchannel(text, EN) }).toEqual({ text, is: false });
    }
  });

  it("uses the conversation's own words, and other languages' defaults", () => {
    expect(isBackchannel("sure thing", phrasesOf(["sure thing"]))).toBe(true);
    expect(isBackchannel("sure", phrasesOf(["sure thing"]))).toBe(false);
    expect(isBackchannel("Genau, ja.", phrasesOf(defaultIgnoreWords("de")))).toBe(true);
    expect(defaultIgnoreWords("xx")).toEqual(defaultIgnoreWords("en"));
    expect(isBackchannel("uh-huh", [])).toBe(false);
  });
});

describe("mayBeBackchannel", () => {
  it("holds while the words are still on their way to an ignore word", () => {
    expect(mayBeBackchannel("", EN)).toBe(true);
    expect(mayBeBackchannel("uh-hu", EN)).toBe(true);
    expect(mayBeBackchannel("yeah, oka", EN)).toBe(true);
    expect(mayBeBackchannel("i se", EN)).toBe(true);
  });

  it("lets go once a word cannot be one", () => {
    expect(mayBeBackchannel("Sto", EN)).toBe(false);
    expect(mayBeBackchannel("yeah but", EN)).toBe(false);
    expect(mayBeBackchannel("wait", EN)).toBe(false);
  });
});
