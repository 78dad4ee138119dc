/**
 * English words to visemes, from the data src/cli/visemes-data.mjs learns from CMUdict: a table of
 * letter contexts (each letter says none, one or two visemes, decided by the widest context of
 * letters around it that the table knows) and the common words that table gets wrong. Visemes are
 * one character each here (VISEME_CHARS); the wire uses their OVR index.
 */

/** The 15 Oculus/OVR visemes, in their standard index order, and this data's character for each. */
export const VISEMES = ["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U"] as const;
export type Viseme = (typeof VISEMES)[number];
export const VISEME_CHARS = "_PFTDKCSNRaeiou";

const PAD = 5;

export interface G2p {
  /** A lower-case word (letters and apostrophes) as viseme characters; "" for none. */
  word(word: string): string;
}

/** Parses the data file (g2p-en.txt's text). */
export function parseG2p(text: string): G2p {
  const windows: [number, number][] = [];
  const levels: Map<string, string>[] = [];
  const words = new Map<string, string>();
  let section: "rules" | "words" = "rules";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("windows ")) {
      for (const w of line.slice(8).split(" ")) {
        const [l, r] = w.split(",").map(Number);
        windows.push([l ?? 0, r ?? 0]);
      }
    } else if (line.startsWith("level ")) levels.push(new Map());
    else if (line === "words") section = "words";
    else {
      const space = line.indexOf(" ");
      const key = line.slice(0, space);
      const value = line.slice(space + 1);
      if (section === "words") words.set(key, value);
      else levels.at(-1)?.set(key, value);
    }
  }
  const cache = new Map<string, string>();
  const rules = (word: string): string => {
    const padded = `${"#".repeat(PAD)}${word}${"#".repeat(PAD)}`;
    let out = "";
    for (let i = 0; i < word.length; i++) {
      for (let k = levels.length - 1; k >= 0; k--) {
        const [l, r] = windows[k] ?? [0, 0];
        const said = levels[k]?.get(padded.slice(i + PAD - l, i + PAD + 1 + r));
        if (said !== undefined) {
          out += said;
          break;
        }
      }
    }
    return out;
  };
  return {
    word(word) {
      let said = words.get(word) ?? cache.get(word);
      if (said === undefined) {
        said = rules(word);
        // Unknown words repeat within a reply (names): a small cache, cleared when full.
        if (cache.size > 2000) cache.clear();
        cache.set(word, said);
      }
      return said;
    },
  };
}
