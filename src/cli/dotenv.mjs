// @ts-check
// Reads .dev.vars / .env text the way `wrangler dev` does (it uses the dotenv package's parse), so
// start.mjs and token.mjs see the same values the Worker gets. Our own because node:util's parseEnv
// only exists from Node 20.12, and the dotenv package is not a dependency of this project.
//
// The rules, dotenv's:
//   - blank lines and lines starting with `#` are skipped, and so is any line that is not an assignment;
//   - `export NAME=value` is `NAME=value`; NAME is letters, digits, `_`, `.` or `-`; `NAME: value` works too;
//   - an unquoted value ends at the first `#` (a comment) and is trimmed; `=` inside it is kept;
//   - a value in single, double or back quotes is taken as written (a `#` inside is kept) and may span
//     lines; in double quotes only, `\n` and `\r` become a line feed and a carriage return;
//   - a quote that is never closed is part of an unquoted value;
//   - a later assignment of a name replaces an earlier one.

const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=|:\s)/;
const QUOTES = new Set(["'", '"', "`"]);

/**
 * @param {string} text the file's contents
 * @returns {Record<string, string>}
 */
export function parseDotenv(text) {
  /** @type {Record<string, string>} */
  const out = {};
  const src = text.replace(/\r\n?/g, "\n");
  let pos = 0;
  while (pos < src.length) {
    const lineEnd = endOfLine(src, pos);
    const line = src.slice(pos, lineEnd);
    const assignment = ASSIGNMENT.exec(line);
    if (!assignment) {
      pos = lineEnd + 1;
      continue;
    }
    const name = /** @type {string} */ (assignment[1]);
    const valueStart = pos + assignment[0].length;
    const quoted = readQuoted(src, valueStart);
    if (quoted) {
      out[name] = quoted.value;
      pos = quoted.end + 1;
    } else {
      const raw = src.slice(valueStart, lineEnd);
      const hash = raw.indexOf("#");
      out[name] = (hash === -1 ? raw : raw.slice(0, hash)).trim();
      pos = lineEnd + 1;
    }
  }
  return out;
}

/**
 * @param {string} src
 * @param {number} from
 */
function endOfLine(src, from) {
  const i = src.indexOf("\n", from);
  return i === -1 ? src.length : i;
}

/**
 * A quoted value starting at `from` (after blanks), when its closing quote is followed only by blanks
 * and an optional comment up to the end of that line; undefined otherwise (then the value is read as
 * unquoted). `end` is the index of the line end after the closing quote.
 * @param {string} src
 * @param {number} from
 * @returns {{ value: string, end: number } | undefined}
 */
function readQuoted(src, from) {
  let start = from;
  while (src[start] === " " || src[start] === "\t") start++;
  const quote = src[start];
  if (quote === undefined || !QUOTES.has(quote)) return undefined;
  // The closing quote is the first one not escaped by a backslash, as in dotenv.
  for (let i = start + 1; i < src.length; i++) {
    if (src[i] === "\\" && src[i + 1] === quote) {
      i++;
      continue;
    }
    if (src[i] !== quote) continue;
    const end = endOfLine(src, i + 1);
    if (!/^[ \t]*(?:#.*)?$/.test(src.slice(i + 1, end))) return undefined;
    let value = src.slice(start + 1, i);
    if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    return { value, end };
  }
  return undefined;
}
