import { type G2p, parseG2p } from "./g2p";
import G2P_EN from "./g2p-en.txt";

/** English, parsed on first use (a few milliseconds, once an isolate). */
let english: G2p | undefined;
export const englishG2p = (): G2p => {
  english ??= parseG2p(G2P_EN);
  return english;
};
