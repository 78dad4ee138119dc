/**
 * A `Content-Type` value read as RFC 9110 §8.3.1 defines it:
 *
 *   media-type = type "/" subtype *( OWS ";" OWS parameter )
 *   parameter  = token "=" ( token / quoted-string )
 *
 * so `application/json ; charset="UTF-8"` is JSON in UTF-8, as much as `application/json;charset=utf-8`
 * is. Type, subtype and parameter names are case-insensitive (returned in lower case); values keep
 * their case, quoted ones unquoted. Anything else is not a media type (undefined).
 */
export interface MediaType {
  /** `type/subtype`, lower case. */
  essence: string;
  params: Map<string, string>;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"';
const OWS = "[ \\t]*";
const TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})${OWS}`);
const PARAM = new RegExp(`^;${OWS}(?:(${TOKEN})=(${TOKEN}|${QUOTED}))?${OWS}`);

export function parseMediaType(header: string): MediaType | undefined {
  const value = header.trim();
  const head = TYPE.exec(value);
  if (!head) return undefined;
  const params = new Map<string, string>();
  let rest = value.slice(head[0].length);
  while (rest !== "") {
    const param = PARAM.exec(rest);
    if (!param) return undefined;
    // RFC 9110 allows an empty parameter (`text/plain;;charset=utf-8`): skipped.
    if (param[1] !== undefined && param[2] !== undefined) {
      const raw = param[2];
      params.set(param[1].toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw);
    }
    rest = rest.slice(param[0].length);
  }
  return { essence: `${head[1]}/${head[2]}`.toLowerCase(), params };
}

/** `application/json` or any `application/*+json`. */
export const isJsonType = (essence: string) => essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
