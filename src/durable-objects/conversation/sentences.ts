/**
 * Sentence splitting for streamed LLM text. Text-to-speech can start on the first sentence while
 * the model is still writing the rest, so each sentence is handed over as soon as its end is
 * certain. A cut in the wrong place ("Dr." | "Smith") is audible, so when in doubt two sentences
 * are joined rather than one being split.
 *
 * Pieces are raw slices of the input: joined in order they give back the input exactly, so nothing
 * the model wrote is lost or changed. A piece ends right after its terminator and any closing quotes
 * or brackets; the whitespace after it opens the next piece. That way a sentence can go out when the
 * first whitespace after it arrives, without waiting to see where the next sentence starts.
 *
 * Blank pieces: `push` never returns a piece whose trim() is empty. Blank text waits and becomes
 * the start of the next piece. `flush` returns what is left even if it is blank (say, a trailing
 * newline), because there is no later piece to carry it and dropping it would break the round trip.
 * Callers that speak the pieces skip blank ones.
 *
 * Where a sentence ends:
 * - `.` `!` `?` `…` (or a run of them, like `?!` or `...`), then any closing quotes or brackets,
 *   then whitespace. "3.14" and "example.com" have no whitespace after the dot, so they do not
 *   end a sentence. A terminator at the end of the text so far waits for the next character.
 * - `。` `！` `？` end a sentence without whitespace, because CJK text does not use spaces.
 * - A line break ends the piece before it (list items, paragraphs), unless that piece is blank.
 * - Not after a single `.` that follows an abbreviation from ABBREVIATIONS, an initial (one capital
 *   letter other than "I": "J. R. R. Tolkien"), or a list marker at the start of a line ("1.", "a.").
 *   "No." ends a sentence unless a number follows ("No. 5"), so it waits for the next word.
 * - Non-breaking spaces (U+00A0, U+2007, U+202F) never end a sentence or make a cut: writers
 *   use them to stop exactly that ("Dr.\u00A0Smith").
 * - Run-on text: when more than `maxChars` characters are waiting without an end, the piece is cut
 *   at the last clause boundary (`, ` `; ` `: ` ` — ` ` – `) that leaves at least
 *   MIN_CLAUSE_PIECE characters, else before the last whitespace, else (one very long "word") at
 *   `maxChars`. A surrogate pair (an emoji) is never split: half of one would reach TTS as
 *   U+FFFD. With a tiny maxChars that can make a piece one UTF-16 unit longer than the limit.
 *
 * Known limitations:
 * - An abbreviation or initial that really ends a sentence ("pears, etc. Then…", "at 5 p.m. Then",
 *   "vitamin A. Then") joins that sentence to the next. A late piece is better than a wrong cut.
 * - "I." is taken as the pronoun ending a sentence, so "I. M. Pei" is cut after "I.".
 * - "Wait... what?" is two pieces, "Wait..." and " what?": an ellipsis before whitespace counts
 *   as an end. TTS reads it as a pause either way, and the first piece goes out sooner.
 * - Dialogue attribution after a quoted exclamation (`"Stop!" she said.`) is cut after the quote.
 * - A list written on one line ("1. Open it. 2. Close it.") is cut after "2.", which cannot be told
 *   from "I counted to 2. Then…" without waiting for more words.
 * - A blank stretch longer than maxChars cannot be cut off without returning a blank piece, so it
 *   stays in front of the next text and the limit counts from that text instead.
 *
 * Every decision depends only on the text seen so far. The scan goes character by character from a
 * saved state, so the output does not depend on how the stream is split into deltas, and each
 * character is looked at once, which keeps a long stream O(n).
 */

export interface SentenceSplitterOptions {
  /** Longest run of text held back without a sentence end before it is cut anyway. Default 250. */
  maxChars?: number;
}

const DEFAULT_MAX_CHARS = 250;

/** A clause cut shorter than this sounds choppy, so the cut falls back to a word boundary. */
const MIN_CLAUSE_PIECE = 40;

/**
 * Words that a single "." follows without ending the sentence. Keys are lower-case with the final
 * dot removed ("e.g.", "U.S."), matched case-insensitively because models write "Approx." and
 * "approx." alike. This list is pragmatic, not exhaustive. Left out on purpose: "may", "in" and
 * other English words, and units like "min" or "sec", which often end a sentence.
 * "no" only skips the end when a number follows, because "No." on its own is a common reply.
 */
const ABBREVIATIONS: ReadonlyMap<string, "always" | "before-number"> = new Map([
  // Titles.
  ...["mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt"].map((a) => [a, "always"] as const),
  // Latin and editorial.
  ...["vs", "etc", "e.g", "i.e", "cf", "approx", "dept", "est", "fig", "vol"].map((a) => [a, "always"] as const),
  // Companies.
  ...["inc", "ltd", "co", "corp"].map((a) => [a, "always"] as const),
  // Months ("may" is a word; "mar." is almost never the verb at a sentence end).
  ...["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"].map((a) => [a, "always"] as const),
  // Dotted forms: only the last dot reaches this check, the inner ones are followed by a letter.
  ...["a.m", "p.m", "u.s", "u.k", "u.s.a"].map((a) => [a, "always"] as const),
  ["no", "before-number"],
]);

/** No key above is longer; a longer word cannot match and is not kept. */
const MAX_TOKEN = 8;

const DOT = 0x2e;

function isCjkTerminator(code: number): boolean {
  return code === 0x3002 /* 。 */ || code === 0xff01 /* ！ */ || code === 0xff1f /* ？ */ || code === 0xff61; /* ｡ */
}

function isTerminator(code: number): boolean {
  return code === DOT || code === 0x21 /* ! */ || code === 0x3f /* ? */ || code === 0x2026 /* … */ || isCjkTerminator(code);
}

/**
 * What may close a sentence after its terminator. `*` and `_` are there because models write
 * markdown ("**Done.** Next"), and without them the emphasis would hide the end.
 */
const CLOSERS = new Set([..."\"'”’)]»*_」』）】》〉〕"].map((c) => c.charCodeAt(0)));

/** The whitespace String.prototype.trim() removes; a piece made only of it is blank. */
function isBlank(code: number): boolean {
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return true;
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** Whitespace where text may be cut: blank, minus the characters that exist to prevent a break. */
function isBreak(code: number): boolean {
  return isBlank(code) && code !== 0xa0 && code !== 0x2007 && code !== 0x202f && code !== 0xfeff;
}

function isNewline(code: number): boolean {
  return code === 0x0a || code === 0x0d || code === 0x2028 || code === 0x2029;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

function isAlnum(code: number): boolean {
  if (code < 0x80) return isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  return LETTER_OR_DIGIT.test(String.fromCharCode(code));
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

const LETTER = /^\p{L}$/u;

type Verdict = "end" | "not-end" | "end-unless-number";

/** What a single "." before whitespace means, given the word in front of it. */
function dotVerdict(token: string | null, atLineStart: boolean): Verdict {
  if (token === null || token === "") return "end";
  const abbreviation = ABBREVIATIONS.get(token.toLowerCase());
  if (abbreviation === "always") return "not-end";
  if (abbreviation === "before-number") return "end-unless-number";
  const letter = LETTER.test(token);
  // "1. Open it." and "a. First": list markers. Only at a line's start, since "I have 2. Then…" ends.
  if (atLineStart && (letter || /^\d{1,3}$/.test(token))) return "not-end";
  // Initials are capitals; "I" is far more often the pronoun ending a sentence ("…than I.").
  if (letter && token !== "I" && token === token.toUpperCase() && token !== token.toLowerCase()) return "not-end";
  return "end";
}

/**
 * Splits streamed text into sentences as soon as each one is certain. Feed deltas to `push` and
 * call `flush` once at the end; after `flush` the splitter starts over as if new.
 */
export class SentenceSplitter {
  private readonly maxChars: number;

  // Positions are absolute (counted from the start of the text) so that nothing has to be
  // re-indexed when returned text is dropped from the buffer.
  /** Text not yet returned, plus possibly some returned text at its front (dropped after each push). */
  private buf = "";
  /** Absolute position of buf[0]. */
  private bufStart = 0;
  /** Absolute position of the first character not yet returned: the start of the current piece. */
  private start = 0;
  /** Absolute position of the next character to scan. */
  private pos = 0;

  /** "text": nothing pending. "run": inside a run of terminators and closers. "await": after "No." + whitespace. */
  private state: "text" | "run" | "await" = "text";
  private runIsOneDot = false;
  private runHasCjk = false;
  /** The word just before the run's first character, and whether it began its line. */
  private runToken: string | null = "";
  private runTokenAtLineStart = false;
  /** Where the piece ends if the "No." being awaited turns out to end a sentence. */
  private pendingEnd = -1;

  /** Letters and digits (with single inner dots: "e.g", "3.5") just scanned; null once too long. */
  private word: string | null = "";
  private wordAtLineStart = false;
  private lineIsBlank = true;
  private prev1 = -1;
  private prev2 = -1;

  /** First non-blank character of the current piece; stale (below `start`) while it is blank. */
  private contentFirst = -1;
  /** Latest place for a run-on cut before whitespace; stale once at or below `start`. */
  private lastSpace = -1;
  /** Latest place for a run-on cut after a clause boundary; always at or before lastSpace. */
  private lastClause = -1;

  constructor(opts: SentenceSplitterOptions = {}) {
    const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
    if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
    this.maxChars = maxChars;
  }

  /** Feeds a delta; returns the sentences completed by it (possibly none), in order. */
  push(delta: string): string[] {
    const out: string[] = [];
    if (delta === "") return out;
    this.buf += delta;
    for (let k = 0; k < delta.length; k++) this.step(delta.charCodeAt(k), out);
    // Keep only what is still pending, so the buffer stays about one sentence long. Scanning reads
    // the delta, not the buffer, so the concatenation above is only copied when a piece is sliced
    // out of it, and then it holds little more than that piece.
    if (this.start > this.bufStart) {
      this.buf = this.buf.slice(this.start - this.bufStart);
      this.bufStart = this.start;
    }
    return out;
  }

  /**
   * End of the text: returns what is left as one piece, or nothing if nothing is left. The rest may
   * be blank (see the module comment). The splitter is then ready for a new text.
   */
  flush(): string[] {
    const rest = this.buf.slice(this.start - this.bufStart);
    this.reset();
    return rest === "" ? [] : [rest];
  }

  private reset(): void {
    this.buf = "";
    this.bufStart = this.start = this.pos = 0;
    this.state = "text";
    this.runIsOneDot = this.runHasCjk = this.runTokenAtLineStart = this.wordAtLineStart = false;
    this.runToken = this.word = "";
    this.lineIsBlank = true;
    this.pendingEnd = this.prev1 = this.prev2 = this.contentFirst = this.lastSpace = this.lastClause = -1;
  }

  /** Returns the current piece up to absolute position `end` and starts the next one there. */
  private cut(end: number, out: string[]): void {
    out.push(this.buf.slice(this.start - this.bufStart, end - this.bufStart));
    this.start = end;
  }

  private step(code: number, out: string[]): void {
    const i = this.pos++;

    // 1. Settle a pending end with this character, if it can be settled.
    if (this.state === "run") {
      if (isTerminator(code) || CLOSERS.has(code)) {
        this.runIsOneDot = false;
        if (isCjkTerminator(code)) this.runHasCjk = true;
      } else {
        this.state = "text";
        if (this.runHasCjk) {
          this.cut(i, out);
        } else if (isBreak(code)) {
          // Exceptions only apply to a lone dot: "etc..." or "Dr.)" followed by a space still end.
          // A line break ends the piece whatever the word was.
          const verdict = isNewline(code) || !this.runIsOneDot ? "end" : dotVerdict(this.runToken, this.runTokenAtLineStart);
          if (verdict === "end") this.cut(i, out);
          else if (verdict === "end-unless-number") {
            this.state = "await";
            this.pendingEnd = i;
          }
        }
        // Anything else right after the run ("3.14", "example.com", "?!x") means no end here.
      }
    } else if (this.state === "await" && (isNewline(code) || !isBreak(code))) {
      this.state = "text";
      if (!isDigit(code)) this.cut(this.pendingEnd, out);
    }

    // 2. This character as ordinary text: it may open a run or end a line.
    if (this.state === "text") {
      if (isTerminator(code)) {
        this.state = "run";
        this.runIsOneDot = code === DOT;
        this.runHasCjk = isCjkTerminator(code);
        this.runToken = this.word;
        this.runTokenAtLineStart = this.wordAtLineStart;
      } else if (isNewline(code) && this.contentFirst >= this.start) {
        this.cut(i, out);
      }
    }

    // 3. Bookkeeping the decisions above and the run-on cut need, so that nothing is rescanned.
    const blank = isBlank(code);
    if (!blank && this.contentFirst < this.start) this.contentFirst = i;
    if (isAlnum(code)) {
      if (this.word === "") this.wordAtLineStart = this.lineIsBlank;
      if (this.word !== null) this.word = this.word.length < MAX_TOKEN ? this.word + String.fromCharCode(code) : null;
    } else if (code === DOT && isAlnum(this.prev1)) {
      // One dot between letters or digits stays inside the word ("e.g", "U.S", "3.5"); two dots do
      // not, so in "wait...Dr." the word before the last dot is "Dr".
      if (this.word !== null) this.word = this.word.length < MAX_TOKEN ? `${this.word}.` : null;
    } else {
      this.word = "";
    }
    if (isNewline(code)) this.lineIsBlank = true;
    else if (!blank) this.lineIsBlank = false;
    // A cut before whitespace must leave something non-blank before it, in this piece.
    if (isBreak(code) && i - 1 >= this.start && !isBlank(this.prev1)) {
      this.lastSpace = i;
      const prev = this.prev1;
      const spacedDash = (prev === 0x2014 /* — */ || prev === 0x2013) /* – */ && i - 2 >= this.start && isBreak(this.prev2);
      if (prev === 0x2c /* , */ || prev === 0x3b /* ; */ || prev === 0x3a /* : */ || spacedDash) this.lastClause = i;
    }
    this.prev2 = this.prev1;
    this.prev1 = code;

    // 4. Run-on text.
    this.limit(i, out);
  }

  /** Cuts the current piece if, with character `i`, it has grown past maxChars without an end. */
  private limit(i: number, out: string[]): void {
    if (this.contentFirst < this.start) return; // A blank piece cannot be returned; it waits.
    // Normally the raw length counts. Only when blank text alone fills maxChars (a cut there would
    // return a blank piece) does the count start at the first non-blank character instead.
    const from = this.contentFirst - this.start < this.maxChars ? this.start : this.contentFirst;
    if (i + 1 - from <= this.maxChars) return;
    // The check runs on every character, so this is the first one over the limit: every candidate
    // below is at most i, which keeps the piece within maxChars.
    let end: number;
    if (this.lastClause > this.start && this.lastClause - this.contentFirst >= MIN_CLAUSE_PIECE) end = this.lastClause;
    else if (this.lastSpace > this.start) end = this.lastSpace;
    else if (!(isHighSurrogate(this.prev2) && isLowSurrogate(this.prev1))) end = i;
    // Keep the pair whole: in the next piece if this one still holds something non-blank without
    // it, else in this one, one unit over the limit.
    else end = i - 1 > this.contentFirst ? i - 1 : i + 1;
    this.cut(end, out);
    // The "No." in question was just returned by this cut, so there is nothing left to decide.
    if (this.state === "await" && this.pendingEnd <= end) this.state = "text";
    // The new piece starts with blank text; skip to its first non-blank character. Those blank
    // characters lie before any later cut, so none is looked at twice.
    this.contentFirst = -1;
    for (let j = end; j <= i; j++) {
      if (!isBlank(this.buf.charCodeAt(j - this.bufStart))) {
        this.contentFirst = j;
        break;
      }
    }
  }
}

/** Splits a whole text at once: the same pieces a stream of it would give. */
export function splitSentences(text: string, opts?: SentenceSplitterOptions): string[] {
  const splitter = new SentenceSplitter(opts);
  return [...splitter.push(text), ...splitter.flush()];
}
