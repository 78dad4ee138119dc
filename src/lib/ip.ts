/**
 * IP address helpers shared by the per-address limits (client-address.ts) and the webhook URL
 * policy (webhook-urls.ts).
 */

/**
 * The eight 16-bit groups of an IPv6 address in any valid spelling (`::` compression, leading
 * zeros, upper case, a trailing dotted IPv4), or undefined. The WHATWG URL parser does the
 * validation and prints the address in one canonical form, which is then split.
 */
export function ipv6Groups(text: string): number[] | undefined {
  let canonical: string;
  try {
    canonical = new URL(`http://[${text.replace(/^\[|\]$/g, "")}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head = "", tail] = canonical.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** Two 16-bit groups as the dotted IPv4 address they carry. */
export const ipv4OfGroups = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
