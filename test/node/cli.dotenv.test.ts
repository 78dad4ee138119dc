import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDotenv } from "../../src/cli/dotenv.mjs";
import { ROOT } from "../../src/cli/seed.mjs";

/**
 * src/cli/dotenv.mjs reads .dev.vars as `wrangler dev` does (the dotenv package's parse): each
 * expectation below is what dotenv 16 (bundled in wrangler 4.86) answers for the same text.
 */
const cases: [string, string, Record<string, string>][] = [
  ["plain lines", "A=1\nB=two", { A: "1", B: "two" }],
  ["comments and blank lines", "# a comment\n\n   # indented comment\nA=1\n\n", { A: "1" }],
  ["spaces around the name, the = and the value", "  A = spaced value  \n\tB=tab", { A: "spaced value", B: "tab" }],
  ["`export ` prefix", "export A=1\nexport   B='two'", { A: "1", B: "two" }],
  ["= inside a value", "A=x=y=z\nURL=https://h.example/?a=1&b=2", { A: "x=y=z", URL: "https://h.example/?a=1&b=2" }],
  ["# ends an unquoted value, even without a space", "A=abc # comment\nB=abc#def", { A: "abc", B: "abc" }],
  ["# inside quotes is kept", "A='a # not a comment'\nB=\"b # not\" # a comment", { A: "a # not a comment", B: "b # not" }],
  ["single and double quotes, padded", "A=  'padded'  \nB=\"\"\nC=''", { A: "padded", B: "", C: "" }],
  ["back quotes", "A=`back tick`", { A: "back tick" }],
  ["\\n in double quotes only", "A=\"line1\\nline2\"\nB='no\\nescape'", { A: "line1\nline2", B: "no\\nescape" }],
  ["a quoted value across lines", 'A="multi\nline"\nB=after', { A: "multi\nline", B: "after" }],
  ["an escaped quote stays escaped", "A='it\\'s'\nB=\"a\\\"b\"", { A: "it\\'s", B: 'a\\"b' }],
  ["a quote never closed is plain text", 'A="unterminated\nB=2', { A: '"unterminated', B: "2" }],
  ["text after a closing quote makes the value plain", 'A="x" trailing', { A: '"x" trailing' }],
  ["CRLF and an empty value", "A=\r\nB=2\r\n", { A: "", B: "2" }],
  ["the last assignment wins", "A=1\nA=2", { A: "2" }],
  ["NAME: value", "A: colon value", { A: "colon value" }],
  ["dots and dashes in names", "A.B-C=dots", { "A.B-C": "dots" }],
  ["lines that are not assignments are skipped", "not an assignment\nA=1\n=nothing", { A: "1" }],
];

describe("parseDotenv", () => {
  for (const [what, text, expected] of cases) {
    it(what, () => expect(parseDotenv(text)).toEqual(expected));
  }

  it("reads every setting .dev.vars.example sets", () => {
    const text = readFileSync(join(ROOT, ".dev.vars.example"), "utf8");
    const set = Array.from(text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm), (m) => [m[1], m[2]]);
    expect(set.length).toBeGreaterThan(0);
    expect(parseDotenv(text)).toEqual(Object.fromEntries(set));
  });
});
