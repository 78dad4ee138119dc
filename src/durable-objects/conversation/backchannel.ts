/**
 * Backchannels: "uh-huh", "yeah", "okay" said while the avatar speaks show the user is listening;
 * they must not interrupt it (the complaint users of every voice product file most). A transcript
 * is a backchannel when it is nothing but words and phrases of the conversation's
 * `interruption.ignore_words`, compared without case, punctuation or hyphens ("Uh-huh." matches
 * "uh huh").
 */

/** Lower case, hyphens as spaces, punctuation gone (apostrophes kept: "d'accord"). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[-\u2010-\u2014]/gu, " ")
    .replace(/[^\p{L}\p{N}'\s]/gu, " ")
    .split(/\s+/u)
    .filter((w) => w !== "");
}

/** Each ignore phrase as its words, e.g. "i see" → ["i", "see"]. */
export const phrasesOf = (ignoreWords: readonly string[]): string[][] => ignoreWords.map(words).filter((p) => p.length > 0);

/** Whether `tokens` is a sequence of whole phrases (an empty transcript is not a backchannel). */
function segments(tokens: readonly string[], phrases: readonly string[][]): boolean {
  if (tokens.length === 0) return false;
  // reachable[i]: tokens[0..i) splits into phrases.
  const reachable = new Array<boolean>(tokens.length + 1).fill(false);
  reachable[0] = true;
  for (let i = 0; i < tokens.length; i++) {
    if (!reachable[i]) continue;
    for (const phrase of phrases) {
      if (phrase.every((w, k) => tokens[i + k] === w)) reachable[i + phrase.length] = true;
    }
  }
  return reachable[tokens.length] === true;
}

/** The final transcript is only ignore words. */
export const isBackchannel = (text: string, phrases: readonly string[][]): boolean => segments(words(text), phrases);

/**
 * An interim transcript that may still turn out to be a backchannel: only ignore words, or words
 * of ignore phrases ending in the start of one ("uh-hu" on the way to "uh-huh", "i se" to "i
 * see"). Looser than `isBackchannel` on purpose: it only holds barge-in back until the words are
 * clear. Empty text counts: no word has been heard yet.
 */
export function mayBeBackchannel(text: string, phrases: readonly string[][]): boolean {
  const tokens = words(text);
  if (tokens.length === 0 || segments(tokens, phrases)) return true;
  const known = new Set(phrases.flat());
  const last = tokens[tokens.length - 1] ?? "";
  return tokens.slice(0, -1).every((w) => known.has(w)) && [...known].some((w) => w.startsWith(last));
}
