/**
 * Byte helpers the audio paths share. Audio moves as `Uint8Array` chunks that are joined, cut and
 * carried inside JSON as base64; each of these had been written again wherever it was needed.
 */

/**
 * The parts one after another. A single non-empty part is given back as it is (no copy): callers
 * join a header or a held-back byte to every chunk, and most of the time one side is empty.
 */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const filled = parts.filter((part) => part.byteLength > 0);
  if (filled.length === 0) return new Uint8Array(0);
  if (filled.length === 1) return filled[0] as Uint8Array;
  const out = new Uint8Array(filled.reduce((size, part) => size + part.byteLength, 0));
  let at = 0;
  for (const part of filled) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

// workerd has Uint8Array.fromBase64 (TC39), which decodes without a binary string in between;
// the fallback is for runtimes without it.
const fromBase64 = (Uint8Array as { fromBase64?: (text: string) => Uint8Array }).fromBase64;

/** The bytes of standard base64 (padding optional); throws a `SyntaxError` on anything else. */
export function decodeBase64(text: string): Uint8Array {
  if (fromBase64) return fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * At most `limit` bytes of a body, then the rest let go (cancelled, never read): a receiver's answer
 * is untrusted and may be endless. Callers that must refuse a larger body ask for one byte more.
 */
export async function readPrefix(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  const all = concat(...chunks);
  return all.byteLength > limit ? all.subarray(0, limit) : all;
}
