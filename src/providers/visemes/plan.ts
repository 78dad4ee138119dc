import type { G2p } from "./g2p";

/**
 * A sentence's visemes in order, each anchored to where it is said in the text (a character
 * position, fractional within its word) and with a nominal length: what timing then spreads over
 * the audio. Numbers are said as words, the abbreviations the sentence splitter knows as theirs,
 * and punctuation that ends a phrase is a pause (`sil`).
 */

export interface PlannedViseme {
  /** A character of VISEME_CHARS. */
  viseme: string;
  /** Where it begins in the sentence's text (characters; fractional inside a word). */
  at: number;
  /** Its length at an ordinary pace (ms). */
  nominalMs: number;
}

/** Ordinary lengths (ms): vowels longest, stops shortest; a pause after a comma or a full stop. */
const NOMINAL_MS: Record<string, number> = { _: 200, P: 70, F: 80, T: 70, D: 60, K: 70, C: 90, S: 90, N: 60, R: 70, a: 100, e: 90, i: 80, o: 100, u: 90 };

/** A letter's share of a word's length at an ordinary pace (ms). */
const LETTER_MS = 75;

/** Abbreviations said as words (the sentence splitter does not end a sentence at them either). */
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  dr: "doctor",
  mr: "mister",
  mrs: "missus",
  ms: "miz",
  prof: "professor",
  st: "saint",
  jr: "junior",
  sr: "senior",
  vs: "versus",
  etc: "et cetera",
  approx: "approximately",
  jan: "january",
  feb: "february",
  aug: "august",
  sept: "september",
  oct: "october",
  nov: "november",
  dec: "december",
  "e.g": "for example",
  "i.e": "that is",
};

const ONES = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/** A whole number in words, up to the billions; longer digit strings are read digit by digit. */
export function numberWords(n: number): string {
  if (!Number.isSafeInteger(n) || n >= 1e12) return [...String(n)].map((d) => ONES[Number(d)] ?? "").join(" ");
  if (n < 20) return ONES[n] ?? "";
  if (n < 100) return `${TENS[Math.floor(n / 10)]}${n % 10 ? ` ${ONES[n % 10]}` : ""}`;
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} hundred${n % 100 ? ` ${numberWords(n % 100)}` : ""}`;
  for (const [size, name] of [
    [1e9, "billion"],
    [1e6, "million"],
    [1e3, "thousand"],
  ] as const) {
    if (n >= size) return `${numberWords(Math.floor(n / size))} ${name}${n % size ? ` ${numberWords(n % size)}` : ""}`;
  }
  return "";
}

/** What a number token says: "3.5" is "three point five", "12,500" twelve thousand five hundred. */
function sayNumber(token: string): string {
  const [whole = "", fraction] = token.replace(/,(?=\d{3})/g, "").split(".");
  const said = numberWords(Number(whole));
  return fraction ? `${said} point ${[...fraction].map((d) => ONES[Number(d)]).join(" ")}` : said;
}

/** Letters a-z and apostrophes, lower case, accents dropped. */
const lettersOf = (word: string) =>
  word
    .normalize("NFD")
    .toLowerCase()
    .replace(/[^a-z']/g, "");

/** "API", "TTS": two to five capitals are spelled out, letter by letter. */
const isInitialism = (token: string) => /^[A-Z]{2,5}$/.test(token);

const TOKEN = /\d[\d,]*(?:\.\d+)?|[\p{L}'’]+(?:\.(?=[a-z]\.))?(?:[\p{L}'’]+)?|[.,!?;:]/gu;

export function planVisemes(text: string, g2p: G2p): PlannedViseme[] {
  const plan: PlannedViseme[] = [];
  const tokens = [...text.matchAll(TOKEN)];
  tokens.forEach((match, n) => {
    const token = match[0];
    const at = match.index ?? 0;
    if (/^[.,!?;:]$/.test(token)) {
      // The full stop of an abbreviation is not a pause.
      const before = tokens[n - 1]?.[0].toLowerCase().replace(/’/g, "'");
      if (token === "." && before !== undefined && before in ABBREVIATIONS) return;
      plan.push({ viseme: "_", at, nominalMs: NOMINAL_MS._ ?? 200 });
      return;
    }
    const lower = token.toLowerCase().replace(/’/g, "'");
    let said: string;
    if (/^\d/.test(token)) said = sayNumber(token);
    else if (lower in ABBREVIATIONS && text[at + token.length] === ".") said = ABBREVIATIONS[lower] ?? lower;
    else if (isInitialism(token)) said = [...lower].join(" ");
    else said = lower;
    const visemes = said
      .split(" ")
      .map((word) => g2p.word(lettersOf(word)))
      .join("");
    const chars = [...visemes];
    // A word lasts by its letters and its sounds (half each: the mock voice times letters, real
    // voices sounds); its visemes share it equally, as their anchors share its letters.
    const wordMs = (token.length * LETTER_MS + chars.reduce((n, v) => n + (NOMINAL_MS[v] ?? 80), 0)) / 2;
    for (const [k, viseme] of chars.entries()) plan.push({ viseme, at: at + (k / chars.length) * token.length, nominalMs: wordMs / chars.length });
  });
  return plan;
}
