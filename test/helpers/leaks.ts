/**
 * Upstream words no client may read, none of which the old blocklist redaction removed: an internal
 * host under a suffix it does not list, a private address, a URL to it, and a credential. Tests of
 * every provider and of the routes above them make an upstream say these and check no client hears
 * them.
 */
export const INTERNAL_HOST = "db-primary.corp.lan";
export const PRIVATE_IP = "10.12.0.7";
export const INTERNAL_URL = `http://${PRIVATE_IP}:8080/internal/debug?trace=1`;
export const CREDENTIAL = "AKIAIOSFODNN7EXAMPLE";
export const LEAKS = [INTERNAL_HOST, PRIVATE_IP, INTERNAL_URL, CREDENTIAL, "internal/debug", "8080"];

/** An upstream's error message carrying every leak (and the provider's `key`, when given). */
export const leakyMessage = (key?: string) =>
  `Upstream ${INTERNAL_HOST} (${PRIVATE_IP}) could not route this request; see ${INTERNAL_URL}. Signed with ${CREDENTIAL}${key === undefined ? "" : ` and key ${key}`}.`;

/** Error codes an upstream might send that are not plain tokens, so must never be echoed. */
export const hostileCodes = (key: string): [string, string][] => [
  ["with spaces", "invalid request please check"],
  ["a URL", INTERNAL_URL],
  ["200 characters", "x".repeat(200)],
  ["a host name", INTERNAL_HOST],
  ["an address", PRIVATE_IP],
  ["the key", key],
  ["control characters", "bad\u202ecode\n"],
];
