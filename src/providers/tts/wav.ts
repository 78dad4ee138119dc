/**
 * Minimal RIFF/WAVE helpers for 16-bit PCM, the format the voice pipeline speaks internally.
 * Only standard JS (DataView, typed arrays), so it runs unchanged in Workers, browsers and Node.
 */

/** Size of the canonical header: RIFF descriptor (12) + "fmt " chunk (8 + 16) + "data" chunk header (8). */
const HEADER_BYTES = 44;
/** WAVE_FORMAT_PCM: integer samples, no compression. */
const FORMAT_PCM = 1;
/** WAVE_FORMAT_EXTENSIBLE: some encoders wrap plain PCM in it; its sub-format GUID starts with the real format tag. */
const FORMAT_EXTENSIBLE = 0xfffe;
/** Offset of the sub-format tag inside an extensible "fmt " body (after cbSize, validBits and the channel mask). */
const EXTENSIBLE_SUBFORMAT_OFFSET = 24;
/**
 * The size streamed WAVs carry in the RIFF and data fields while the length is unknown. Readers
 * (ffmpeg, browsers, ours) treat it as "until the end of the bytes".
 */
const UNKNOWN_SIZE = 0xffffffff;
/** RIFF and data sizes are u32; the RIFF size also counts the 36 header bytes after it. */
const MAX_DATA_BYTES = UNKNOWN_SIZE - (HEADER_BYTES - 8) - 1;

export interface WavHeaderOptions {
  sampleRate: number;
  /** Defaults to 1 (mono). */
  channels?: number;
  /** Defaults to 16. */
  bitsPerSample?: number;
  /** Length of the sample data in bytes; leave undefined when streaming and the length is not known yet. */
  dataBytes?: number;
}

/** The 44-byte canonical PCM header. Without `dataBytes` both sizes are 0xFFFFFFFF (streamed WAV). */
export function wavHeader(opts: WavHeaderOptions): Uint8Array {
  const channels = opts.channels ?? 1;
  const bits = opts.bitsPerSample ?? 16;
  checkUint("sampleRate", opts.sampleRate, 1, UNKNOWN_SIZE);
  checkUint("channels", channels, 1, 0xffff);
  if (bits <= 0 || bits % 8 !== 0 || bits > 32) throw new RangeError(`bitsPerSample must be 8, 16, 24 or 32, got ${bits}`);
  if (opts.dataBytes !== undefined) checkUint("dataBytes", opts.dataBytes, 0, MAX_DATA_BYTES);

  const blockAlign = (channels * bits) / 8;
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  writeAscii(header, 0, "RIFF");
  view.setUint32(4, opts.dataBytes === undefined ? UNKNOWN_SIZE : HEADER_BYTES - 8 + opts.dataBytes, true);
  writeAscii(header, 8, "WAVE");
  writeAscii(header, 12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, opts.sampleRate, true);
  view.setUint32(28, opts.sampleRate * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bits, true);
  writeAscii(header, 36, "data");
  view.setUint32(40, opts.dataBytes ?? UNKNOWN_SIZE, true);
  return header;
}

export interface ParsedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Where the sample data starts in the input. */
  dataOffset: number;
  /** Sample data actually present (the declared size clamped to the input, rounded down to whole samples). */
  dataBytes: number;
  /** Interleaved when `channels` > 1. */
  samples: Int16Array;
}

/** Whether the bytes start as a RIFF file does (a WAV file, or one claiming to be). */
export const isRiff = (bytes: Uint8Array): boolean => bytes.length >= 4 && readAscii(bytes, 0) === "RIFF";

/**
 * Reads a 16-bit PCM WAV. Walks the chunk list rather than assuming the 44-byte layout, because
 * real files put LIST/fact/bext chunks before "data"; a data size that runs past the input
 * (streamed or truncated files) is clamped to what is there.
 */
export function parseWav(bytes: Uint8Array): ParsedWav {
  if (bytes.length < 12 || !isRiff(bytes) || readAscii(bytes, 8) !== "WAVE") {
    throw new Error("not a WAV file: missing the RIFF/WAVE header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { sampleRate: number; channels: number; bitsPerSample: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = readAscii(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + size > bytes.length) throw new Error("WAV fmt chunk is truncated");
      let tag = view.getUint16(body, true);
      if (tag === FORMAT_EXTENSIBLE && size >= EXTENSIBLE_SUBFORMAT_OFFSET + 2) tag = view.getUint16(body + EXTENSIBLE_SUBFORMAT_OFFSET, true);
      const bitsPerSample = view.getUint16(body + 14, true);
      if (tag !== FORMAT_PCM || bitsPerSample !== 16) {
        throw new Error(`unsupported WAV encoding (format ${tag}, ${bitsPerSample}-bit): only 16-bit PCM is supported`);
      }
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      if (channels === 0 || sampleRate === 0) throw new Error("WAV fmt chunk declares zero channels or a zero sample rate");
      format = { sampleRate, channels, bitsPerSample };
    } else if (id === "data") {
      if (!format) throw new Error("WAV data chunk comes before the fmt chunk");
      const present = Math.min(size, bytes.length - body);
      const dataBytes = present - (present % 2);
      return { ...format, dataOffset: body, dataBytes, samples: bytesToPcm16(bytes.subarray(body, body + dataBytes)) };
    }
    // Chunks are padded to an even length; the pad byte is not counted in the size.
    offset = body + size + (size % 2);
  }
  throw new Error(format ? "WAV file has no data chunk" : "WAV file has no fmt chunk");
}

/** Little-endian bytes of the samples, whatever the platform's byte order (DataView pins it). */
export function pcm16ToBytes(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i] ?? 0, true);
  return bytes;
}

/**
 * Samples from little-endian bytes. Copies rather than viewing the buffer so an odd byteOffset
 * (a subarray) and big-endian hosts both work; a trailing odd byte is ignored.
 */
export function bytesToPcm16(bytes: Uint8Array): Int16Array {
  const samples = new Int16Array(bytes.length >> 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

function checkUint(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
}

function writeAscii(target: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i);
}

function readAscii(source: Uint8Array, offset: number): string {
  return String.fromCharCode(source[offset] ?? 0, source[offset + 1] ?? 0, source[offset + 2] ?? 0, source[offset + 3] ?? 0);
}

/** A complete mono PCM16 WAV file (an upstream that takes no bare PCM gets its rate this way). */
export const monoWav = (samples: Int16Array, sampleRate: number): Uint8Array => {
  const header = wavHeader({ sampleRate, dataBytes: samples.length * 2 });
  const file = new Uint8Array(header.length + samples.length * 2);
  file.set(header);
  file.set(pcm16ToBytes(samples), header.length);
  return file;
};
