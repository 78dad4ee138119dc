/**
 * FNV-1a, 32 bits: tiny, stable across runtimes, and good enough to spread deterministic choices
 * (the mock providers' "randomness"). Not for anything security-related.
 */
export function fnv1a(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
