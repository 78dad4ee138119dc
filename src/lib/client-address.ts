import { ipv4OfGroups, ipv6Groups } from "./ip";

/**
 * The client address a per-address limit counts against, from `CF-Connecting-IP`. Written one way
 * per client, so that spellings of one address share a bucket: IPv4 as four decimal octets; IPv6
 * by its /64 (the smallest prefix a provider hands one subscriber, who can use any address in it),
 * with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counted as its IPv4 address. Anything else, or no header
 * (only outside Cloudflare's network), is the one bucket `unknown`.
 */
export function clientAddress(header: string | null | undefined): string {
  const raw = header?.trim() ?? "";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(raw)) return ipv4(raw) ?? "unknown";
  if (!raw.includes(":") || raw.length > 64) return "unknown";
  const groups = ipv6Groups(raw);
  if (!groups) return "unknown";
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, hi = 0, lo = 0] = groups;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) return ipv4OfGroups(hi, lo);
  return `${[a, b, c, d].map((g) => g.toString(16)).join(":")}::/64`;
}

function ipv4(text: string): string | undefined {
  const octets = text.split(".").map(Number);
  return octets.every((o) => o <= 255) ? octets.join(".") : undefined;
}
