import { describe, expect, it } from "vitest";
import { SentenceSplitter, splitSentences } from "../../src/durable-objects/conversation/sentences";

// ---------------------------------------------------------------------------------------------
// Helpers

type Opts = { maxChars?: number };

/** Feeds `deltas` one by one; what each push returned, and what flush returned. */
function stream(deltas: readonly string[], opts?: Opts): { pushes: string[][]; flushed: string[] } {
  const splitter = new SentenceSplitter(opts);
  const pushes = deltas.map((d) => splitter.push(d));
  return { pushes, flushed: splitter.flush() };
}

const pieces = (deltas: readonly string[], opts?: Opts) => {
  const { pushes, flushed } = stream(deltas, opts);
  return [...pushes.flat(), ...flushed];
};

/** A small deterministic PRNG, so a failing chunking can be reproduced. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** The ways a model's stream may arrive: all at once, token-like words, single UTF-16 units, random. */
function chunkings(text: string): [string, string[]][] {
  const random = lcg(text.length + 7);
  const randomChunks: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(random() * 9);
    randomChunks.push(text.slice(i, i + n));
    i += n;
  }
  return [
    ["whole", [text]],
    // LLM tokens carry their leading space: "Hello", "!", " How".
    ["words", text.match(/\s*\S+|\s+$/g) ?? []],
    ["characters", text.split("")],
    ["random", randomChunks],
  ];
}

// A lone surrogate in a failure message breaks the pool's WebSocket to workerd (invalid UTF-8), so
// a test that should report a split emoji would crash the run instead. Show those halves escaped.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const printable = (pieces: readonly string[]) => pieces.map((p) => p.replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16)}`));

/** The exact pieces, however the text is chunked; and the invariants that always hold. */
function expectSplit(text: string, expected: readonly string[], opts?: Opts): void {
  expect(expected.join(""), "the expectation itself must cover the text").toBe(text);
  for (const [name, deltas] of chunkings(text)) {
    const { pushes, flushed } = stream(deltas, opts);
    expect(printable([...pushes.flat(), ...flushed]), `chunked: ${name}`).toEqual(expected);
    for (const piece of pushes.flat()) expect(piece.trim(), `push returned a blank piece (${name})`).not.toBe("");
    expect(flushed.length).toBeLessThanOrEqual(1);
  }
  expect(printable(splitSentences(text, opts))).toEqual(expected);
}

const MOCK_ABBREVIATED = [
  "Dr. Smith measured the water sample at 3.5 metres.",
  "Mrs. Okafor said water took 2.75 hours, i.e. longer than planned.",
  "Prof. Lee gave water a score of 4.2 out of 5 this year.",
  "Mr. Brown paid 12.50 dollars for the water guide at the St. Mary market.",
  "The water test ran at 1.5 times the usual speed, e.g. during the night shift.",
  "Version 2.0 of the water plan, approx. 40 pages long, arrives in Jan. next year.",
];

// ---------------------------------------------------------------------------------------------

describe("sentence ends", () => {
  it(". ! ? before whitespace end a sentence; the whitespace opens the next piece", () => {
    expectSplit("Hello! How are you? I'm fine.", ["Hello!", " How are you?", " I'm fine."]);
    expectSplit("One.  Two.\tThree.", ["One.", "  Two.", "\tThree."]);
  });

  it("closing quotes and brackets stay with their sentence", () => {
    expectSplit('He said "Stop." Then he left.', ['He said "Stop."', " Then he left."]);
    expectSplit("It works (mostly.) Next one.", ["It works (mostly.)", " Next one."]);
    expectSplit("She wrote ‘fine.’ Then ‘done!’] Ok.", ["She wrote ‘fine.’", " Then ‘done!’]", " Ok."]);
    expectSplit("**Done.** Next one.", ["**Done.**", " Next one."]);
  });

  it("runs of terminators are one end", () => {
    expectSplit("Really?! Yes!!! Fine.", ["Really?!", " Yes!!!", " Fine."]);
  });

  it('"Wait... what?" is two pieces: an ellipsis before whitespace ends a sentence (documented)', () => {
    expectSplit("Wait... what?", ["Wait...", " what?"]);
    expectSplit("Wait… what?", ["Wait…", " what?"]);
    // Without whitespace after it, it does not.
    expectSplit("Wait...what? Ok.", ["Wait...what?", " Ok."]);
  });

  it("a terminator without whitespace after it is no end: decimals, domains, versions", () => {
    expectSplit("Visit example.com today.", ["Visit example.com today."]);
    expectSplit("It is 2.0 or 12.50 or 3.5 today. Next.", ["It is 2.0 or 12.50 or 3.5 today.", " Next."]);
    expectSplit("Is it?Yes. Ok.", ["Is it?Yes.", " Ok."]);
  });

  it("a non-breaking space after a terminator is no end", () => {
    expectSplit("Hello.\u00A0World. Next.", ["Hello.\u00A0World.", " Next."]);
  });
});

describe("streaming latency", () => {
  it("a sentence is returned by the push that brings the whitespace after it", () => {
    const { pushes, flushed } = stream(["Hello", "!", " How", " are", " you", "?", " I'm", " fine", "."]);
    expect(pushes).toEqual([[], [], ["Hello!"], [], [], [], [" How are you?"], [], []]);
    expect(flushed).toEqual([" I'm fine."]);
  });

  it("a terminator at the end of the text so far waits: it may be a decimal point", () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push("It costs 3.")).toEqual([]);
    expect(splitter.push("14 dollars.")).toEqual([]);
    expect(splitter.push(" Then")).toEqual(["It costs 3.14 dollars."]);
    expect(splitter.flush()).toEqual([" Then"]);
  });

  it("a terminator at the end is returned by flush", () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push("Hello world.")).toEqual([]);
    expect(splitter.flush()).toEqual(["Hello world."]);
    expect(splitter.flush()).toEqual([]);
  });

  it("one push may complete several sentences, returned in order", () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push("A cat. A dog. A b")).toEqual(["A cat.", " A dog."]);
    expect(splitter.push("ird.")).toEqual([]);
    expect(splitter.flush()).toEqual([" A bird."]);
  });
});

describe("not an end", () => {
  it("the mock model's abbreviated sentences each come out whole", () => {
    const text = MOCK_ABBREVIATED.join(" ");
    expectSplit(
      text,
      MOCK_ABBREVIATED.map((s, i) => (i === 0 ? s : ` ${s}`)),
    );
  });

  it("every listed abbreviation, in either case", () => {
    const abbreviations = [
      ...["Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Sr.", "Jr.", "St.", "Mt.", "vs.", "etc.", "e.g.", "i.e.", "approx."],
      ...["dept.", "est.", "fig.", "vol.", "inc.", "ltd.", "co.", "corp.", "a.m.", "p.m.", "U.S.", "U.K."],
      ...["jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec."],
    ];
    for (const abbreviation of abbreviations) {
      for (const form of [abbreviation, abbreviation.toUpperCase(), abbreviation.toLowerCase()]) {
        expectSplit(`We saw ${form} them there. Next one.`, [`We saw ${form} them there.`, " Next one."]);
      }
    }
    // The same place with an ordinary word is an end: the list is what makes the difference.
    expectSplit("We saw dogs. them there.", ["We saw dogs.", " them there."]);
    expectSplit("We saw may. Then.", ["We saw may.", " Then."]);
  });

  it('"No." ends a sentence unless a number follows', () => {
    expectSplit("No. I don't think so.", ["No.", " I don't think so."]);
    expectSplit("Take bus No. 5 to the station. Ok.", ["Take bus No. 5 to the station.", " Ok."]);
    expectSplit("Yes. No. Maybe.", ["Yes.", " No.", " Maybe."]);
    expectSplit("No.\nNext line.", ["No.", "\nNext line."]);
    // It waits for the next word, and no longer.
    const splitter = new SentenceSplitter();
    expect(splitter.push("No. ")).toEqual([]);
    expect(splitter.push(" I")).toEqual(["No."]);
    expect(splitter.flush()).toEqual(["  I"]);
  });

  it("single-letter initials; a lone 'I.' is the pronoun and ends (documented)", () => {
    expectSplit("J. R. R. Tolkien wrote it. A. Smith agreed.", ["J. R. R. Tolkien wrote it.", " A. Smith agreed."]);
    expectSplit("It was World War I. Then peace came.", ["It was World War I.", " Then peace came."]);
    expectSplit("Ask for a. Then b.", ["Ask for a.", " Then b."]);
  });

  it("a list number at the start of a line, and only there", () => {
    expectSplit("1. First step.\n2. Second step.", ["1. First step.", "\n2. Second step."]);
    expectSplit("I counted to 2. Then I stopped.", ["I counted to 2.", " Then I stopped."]);
    // Known limitation: mid-line, a list number looks exactly like the end above.
    expectSplit("1. First step. 2. Second step.", ["1. First step.", " 2.", " Second step."]);
    expectSplit("  10. Indented item.", ["  10. Indented item."]);
    expectSplit("a. First\nb. Second", ["a. First", "\nb. Second"]);
  });

  it('known limitation: "etc." at a true sentence end joins the next sentence', () => {
    expectSplit("Apples, pears, etc. Then we left. Ok.", ["Apples, pears, etc. Then we left.", " Ok."]);
  });

  it("a word before the last of several dots is still read on its own", () => {
    expectSplit("Hm...Dr. Who came. Ok.", ["Hm...Dr. Who came.", " Ok."]);
  });
});

describe("CJK", () => {
  it("。！？ end a sentence without whitespace", () => {
    expectSplit("你好。我很好。", ["你好。", "我很好。"]);
    expectSplit("真的？！是的。", ["真的？！", "是的。"]);
    expectSplit("他说：「好。」然后走了。", ["他说：「好。」", "然后走了。"]);
    expectSplit("こんにちは。 元気？", ["こんにちは。", " 元気？"]);
  });
});

describe("line breaks", () => {
  it("end a piece; the list numbers after them stay with their item", () => {
    expectSplit("Steps:\n1. Open it.\n2. Close it.", ["Steps:", "\n1. Open it.", "\n2. Close it."]);
    expectSplit("Line one\nLine two", ["Line one", "\nLine two"]);
    expectSplit("One\r\nTwo", ["One", "\r\nTwo"]);
  });

  it("blank lines are never a piece of their own: they open the next one", () => {
    expectSplit("Para one.\n\nPara two.", ["Para one.", "\n\nPara two."]);
    expectSplit("\n\nHello.\n \nBye", ["\n\nHello.", "\n \nBye"]);
  });
});

describe("blank text", () => {
  it("push never returns it; flush returns a blank rest so that nothing is lost (documented)", () => {
    expectSplit("Done.\n", ["Done.", "\n"]);
    expectSplit("   ", ["   "]);
    expectSplit("", []);
    const splitter = new SentenceSplitter();
    expect(splitter.push("Done.")).toEqual([]);
    expect(splitter.push("  \n  ")).toEqual(["Done."]);
    expect(splitter.push("\n")).toEqual([]);
    expect(splitter.flush()).toEqual(["  \n  \n"]);
  });
});

describe("run-on text", () => {
  it("600 characters with commas and no end: cut after the last comma within maxChars", () => {
    const clause = Array(10).fill("word").join(" "); // 49 characters
    const four = Array(4).fill(clause).join(", ");
    const text = Array(12).fill(clause).join(", ");
    expect(text.length).toBe(610);
    const expected = [`${four},`, ` ${four},`, ` ${four}`];
    expectSplit(text, expected);
    for (const piece of expected) expect(piece.length).toBeLessThanOrEqual(250);
  });

  it("a spaced dash is a clause boundary too", () => {
    const head = "one two three four five six seven eight nine";
    const tail = " ten eleven twelve thirteen fourteen fifteen sixteen";
    expectSplit(`${head} —${tail}`, [`${head} —`, tail], { maxChars: 80 });
    expectSplit(`${head} –${tail}`, [`${head} –`, tail], { maxChars: 80 });
  });

  it("a clause boundary that leaves fewer than 40 characters is passed over for the last whitespace", () => {
    const words = (n: number) => Array(n).fill("word").join(" ");
    expectSplit(`Hi, ${words(20)}`, [`Hi, ${words(11)}`, ` ${words(9)}`], { maxChars: 60 });
    // No comma at all: the last whitespace.
    expectSplit(words(20), [words(12), ` ${words(8)}`], { maxChars: 60 });
  });

  it("one word longer than maxChars is cut at maxChars, never inside a surrogate pair", () => {
    expectSplit("x".repeat(130), ["x".repeat(50), "x".repeat(50), "x".repeat(30)], { maxChars: 50 });
    expectSplit("😀".repeat(6), ["😀😀", "😀😀", "😀😀"], { maxChars: 5 });
    // The limit is too small for the pair: it goes out whole, one unit over.
    expectSplit("a😀b", ["a", "😀", "b"], { maxChars: 1 });
  });

  it("blank text longer than maxChars stays in front of the next text; the limit counts after it", () => {
    expectSplit(`${" ".repeat(12)}abcdefghijkl`, [`${" ".repeat(12)}abcdefghij`, "kl"], { maxChars: 10 });
  });

  it("a sentence end still wins over the limit", () => {
    expectSplit("Short one. Another short one.", ["Short one.", " Another short one."], { maxChars: 20 });
  });
});

describe("invariants", () => {
  const corpus = [
    MOCK_ABBREVIATED.join(" "),
    "Steps:\n1. Open it.\n2. Close it.\n\n你好。我很好。 Wait... what? No. 5 is fine, e.g. today.\r\n",
    `He said "Stop." Then he left.  ${"On and on, and on; and on: ".repeat(30)}\n\n  `,
    "😀 Emoji first. Then a.m. and p.m.? Yes!\u00A0Sure. J. R. R. Tolkien, U.S. author… ok",
  ];

  it("the pieces join back to the input exactly, whatever the chunking and limit", () => {
    for (const text of corpus) {
      for (const maxChars of [2, 7, 45, 250]) {
        const whole = printable(pieces([text], { maxChars }));
        expect(whole.join("")).toBe(text);
        for (const [name, deltas] of chunkings(text)) {
          const { pushes, flushed } = stream(deltas, { maxChars });
          const all = printable([...pushes.flat(), ...flushed]);
          expect(all.join("")).toBe(text);
          // Chunking independence on the same text.
          expect(all, `${name}, maxChars ${maxChars}`).toEqual(whole);
          for (const piece of pushes.flat()) expect(piece.trim()).not.toBe("");
        }
        for (const piece of whole) {
          // Blank text longer than the limit cannot be cut off alone; the limit then counts after it.
          const lead = piece.length - piece.trimStart().length;
          expect(lead >= maxChars ? piece.length - lead : piece.length, JSON.stringify(piece)).toBeLessThanOrEqual(maxChars);
        }
      }
    }
  });

  it("a flushed splitter starts over", () => {
    const splitter = new SentenceSplitter();
    const first = [...splitter.push("1. Item. Next"), ...splitter.flush()];
    const second = [...splitter.push("1. Item. Next"), ...splitter.flush()];
    expect(first).toEqual(["1. Item.", " Next"]);
    expect(second).toEqual(first);
  });

  it("maxChars must be a positive integer", () => {
    for (const maxChars of [0, -1, 1.5, Number.NaN]) expect(() => new SentenceSplitter({ maxChars })).toThrow(RangeError);
  });
});

describe("cost", () => {
  // A splitter that rescans its buffer on every push is quadratic here (~10^11 steps), far past
  // the test timeout; a linear one takes well under a second.
  it("a long stream fed one character at a time stays linear", () => {
    const endless = "Dr. Who, e.g. the St. one, ".repeat(20_000); // 540,000 characters, never an end
    const splitter = new SentenceSplitter({ maxChars: 1_000_000_000 });
    let returned = 0;
    for (let i = 0; i < endless.length; i++) returned += splitter.push(endless.charAt(i)).length;
    expect(returned).toBe(0);
    expect(splitter.flush()).toEqual([endless]);

    const sentences = "Dr. Smith saw 3.5 of them, i.e. most. ".repeat(20_000);
    const out: string[] = [];
    const defaultSplitter = new SentenceSplitter();
    for (let i = 0; i < sentences.length; i++) out.push(...defaultSplitter.push(sentences.charAt(i)));
    out.push(...defaultSplitter.flush());
    expect(out.length).toBe(20_001);
    expect(out.join("")).toBe(sentences);
  });
});
