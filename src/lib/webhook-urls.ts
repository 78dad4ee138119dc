import { ipv4OfGroups, ipv6Groups } from "./ip";
import { CONTROL_CHARACTERS } from "./text";

/**
 * Where a webhook may point. Deliveries are made by our servers, so a receiver URL is a request we
 * make on a customer's behalf: it must be https: and must not name a loopback, private, link-local
 * or otherwise internal address (SSRF). Host names are checked as written, not resolved (Workers has
 * no resolver API, and Cloudflare's network refuses private destinations anyway); IP literals in any
 * form are caught because the URL parser normalises them (`http://0x7f.1` is 127.0.0.1).
 *
 * The policy is applied when a URL is written (create, PATCH) and again before every delivery, so
 * an endpoint stored under a laxer policy (or setting) is not delivered to once the policy refuses it.
 * What is stored is the parser's normal form (`normalisedWebhookUrl`), the URL a delivery requests.
 */

/** The longest URL stored, as sent and once normalised (which may lengthen it: `é` is `%C3%A9`). */
export const WEBHOOK_URL_MAX_CHARS = 2048;

const INTERNAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

function ipv4Internal(host: string): boolean | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return undefined;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && Number(m[3]) === 0) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function ipv6Internal(host: string): boolean | undefined {
  if (!host.startsWith("[")) return undefined;
  const g = ipv6Groups(host);
  if (!g) return true;
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, hi = 0, lo = 0] = g;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8) || (zeroTo(7) && lo === 1)) return true; // :: and ::1
  // IPv4 carried inside IPv6 is judged as that IPv4: mapped ::ffff:0:0/96, compatible ::/96, NAT64
  // 64:ff9b::/96, and 6to4 2002::/16 (the address in its second and third groups).
  if ((zeroTo(5) && f === 0xffff) || zeroTo(6) || (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0)) {
    return ipv4Internal(ipv4OfGroups(hi, lo)) ?? true;
  }
  if (a === 0x2002) return ipv4Internal(ipv4OfGroups(b, c)) ?? true;
  return (
    (zeroTo(4) && e === 0xffff && f === 0) || // IPv4-translated ::ffff:0:0:0/96 (SIIT), whatever it carries
    (a === 0x64 && b === 0xff9b && c === 1) || // local-use NAT64 64:ff9b:1::/48, whatever it carries
    (a === 0x2001 && b === 0) || // Teredo 2001::/32: a tunnel to an address we cannot judge
    (a & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (a & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (a & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated, still routed internally)
    (a & 0xff00) === 0xff00 // multicast
  );
}

/**
 * Why `raw` cannot be a webhook URL, or undefined when it can: a phrase that follows the field's
 * name ("must be an https: URL"). `allowInsecure` (local development) lets http: and internal hosts
 * through; control characters, credentials and a trailing dot are refused either way.
 */
export function webhookUrlProblem(raw: string, allowInsecure: boolean): string | undefined {
  // Checked on the string as sent: the URL parser silently drops tabs and line breaks anywhere and
  // trims C0 controls at the ends, so `https://exa\tmple.com/` would otherwise become another URL
  // than the one the caller (or a log, or a reviewer) saw.
  if (CONTROL_CHARACTERS.test(raw)) return "must not contain control characters (tabs, line breaks, NUL, DEL or C1 controls)";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute https: URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) return "must be an https: URL";
  const host = url.hostname;
  if (!allowInsecure) {
    const ip = ipv4Internal(host) ?? ipv6Internal(host);
    if (ip ?? INTERNAL_NAMES.test(host.replace(/\.+$/, ""))) return "must not point at a loopback, private, link-local or internal address";
    if (ip === undefined && !host.includes(".")) return "must name a public host";
  }
  // `example.com.` is the same name to DNS but another host to TLS, to `Host:` and to allow lists;
  // one spelling per host. (An IPv4 literal's trailing dot is dropped by the parser itself.)
  if (host.endsWith(".")) return "must not end its host name with a dot";
  return undefined;
}

/**
 * The form a URL is stored, echoed and requested in: the parser's (`HTTPS://Example.COM:443/a/../b`
 * is `https://example.com/b`). Only for a URL `webhookUrlProblem` accepted.
 */
export const normalisedWebhookUrl = (raw: string): string => new URL(raw).href;
