import { concat } from "../../lib/bytes";
import type { AudioFormat } from "./types";
import { pcm16ToBytes } from "./wav";

/**
 * Audio plumbing shared by the speech providers: media types, a streaming WAV reader that hands
 * over the PCM inside, and a streaming resampler. Everything works chunk by chunk (audio is never
 * buffered whole) and gives the same bytes however the input was cut.
 */

/** A format whose audio is PCM16 mono (mp3 has no rate of ours: it is whatever the provider encodes). */
export type PcmFormat = Exclude<AudioFormat, "mp3">;

/**
 * The sample rate of a PCM format: raw PCM at the rate its name says; `wav` at 24 kHz where this
 * API makes the header itself (a WAV passed through from a provider says its own rate).
 */
export const sampleRateOf = (format: PcmFormat): number => (format === "pcm_16000" ? 16_000 : 24_000);

/** Raw PCM has no registered type; this one says what the bytes are. */
const pcmType = (rate: number) => `audio/pcm;rate=${rate};encoding=signed-int;bits=16;channels=1;endianness=little`;

export function contentTypeOf(format: AudioFormat): string {
  switch (format) {
    case "mp3":
      return "audio/mpeg";
    case "wav":
      return "audio/wav";
    case "pcm_16000":
      return pcmType(16_000);
    case "pcm_24000":
      return pcmType(24_000);
  }
}

/** Duration of `bytes` of PCM16 mono at `rate`, in ms. */
export const pcmDurationMs = (bytes: number, rate: number) => (bytes / 2 / rate) * 1000;

const ascii = (bytes: Uint8Array, at: number) => String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
const u32 = (bytes: Uint8Array, at: number) =>
  ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0;
const u16 = (bytes: Uint8Array, at: number) => (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);

/**
 * Reads a WAV stream chunk by chunk and gives back only the PCM of its `data` chunk: the header
 * (and any LIST or other chunk before the data) may arrive split across any number of chunks.
 * Streamed WAVs often give a placeholder size (0 or 0xFFFFFFFF), so the data runs to the end.
 */
export class WavReader {
  private pending: Uint8Array = new Uint8Array(0);
  /** True once the header is behind and PCM is flowing. */
  inData = false;
  /** PCM bytes still to come when the header gave a real data size; unbounded for a streamed one. */
  private remaining = Number.POSITIVE_INFINITY;
  /** Set once the `fmt ` chunk has been read. */
  format: { sampleRate: number; channels: number; bitsPerSample: number } | undefined;

  /** Feeds bytes; returns the PCM among them (possibly empty). Throws on anything that is not WAV. */
  push(bytes: Uint8Array): Uint8Array {
    if (this.inData) return this.take(bytes);
    this.pending = concat(this.pending, bytes);
    const b = this.pending;
    if (b.length < 12) return new Uint8Array(0);
    if (ascii(b, 0) !== "RIFF" || ascii(b, 8) !== "WAVE") throw new Error("not a WAV stream");
    let at = 12;
    while (at + 8 <= b.length) {
      const id = ascii(b, at);
      const size = u32(b, at + 4);
      if (id === "data") {
        this.inData = true;
        // 0 and 0xFFFFFFFF are the placeholders of a streamed WAV; any other size is the truth,
        // and whatever follows the data (a trailing LIST chunk) is not audio.
        if (size !== 0 && size !== 0xffffffff) this.remaining = size;
        const pcm = b.subarray(at + 8);
        this.pending = new Uint8Array(0);
        return this.take(pcm);
      }
      const padded = size + (size % 2);
      if (at + 8 + padded > b.length) return new Uint8Array(0);
      if (id === "fmt ") {
        this.format = { channels: u16(b, at + 10), sampleRate: u32(b, at + 12), bitsPerSample: u16(b, at + 22) };
      }
      at += 8 + padded;
    }
    return new Uint8Array(0);
  }

  private take(bytes: Uint8Array): Uint8Array {
    if (bytes.length <= this.remaining) {
      this.remaining -= bytes.length;
      return bytes;
    }
    const pcm = bytes.subarray(0, this.remaining);
    this.remaining = 0;
    return pcm;
  }
}

/**
 * Streaming resampler for PCM16 mono: windowed-sinc interpolation whose cut-off follows the lower of
 * the two rates, so downsampling does not fold high frequencies back. Output sample n depends only
 * on input samples near n × from/to, so the result is the same however the input is chunked.
 */
export class Resampler {
  /** Half the filter's length in input samples; 16 keeps ripple low at a modest cost. */
  private static readonly HALF_TAPS = 16;
  private readonly step: number;
  private readonly cutoff: number;
  /** Input samples not yet consumed, as floats; `offset` is the absolute index of input[0]. */
  private input: number[] = [];
  private offset = 0;
  private nextOut = 0;
  private carry: number | undefined;
  /**
   * Filter taps by fractional position: for a ratio of small integers (24 kHz to 16 kHz is 3:2)
   * only a few distinct fractions occur, so each set of taps is computed once.
   */
  private readonly taps = new Map<number, Float64Array>();

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    this.step = from / to;
    this.cutoff = Math.min(1, to / from);
  }

  private kernel(x: number): number {
    if (x === 0) return this.cutoff;
    const half = Resampler.HALF_TAPS;
    if (Math.abs(x) >= half) return 0;
    const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / half);
    const arg = Math.PI * x * this.cutoff;
    return (Math.sin(arg) / (Math.PI * x)) * window;
  }

  private emit(final: boolean): Int16Array {
    const out: number[] = [];
    const half = Resampler.HALF_TAPS;
    const available = this.offset + this.input.length;
    for (;;) {
      const center = this.nextOut * this.step;
      const last = Math.floor(center) + half;
      if (!final && last >= available) break;
      if (final && Math.floor(center) >= available) break;
      const first = Math.floor(center) - half + 1;
      const taps = this.tapsFor(center - Math.floor(center));
      let sum = 0;
      for (let k = 0; k < taps.length; k++) {
        const i = first + k;
        if (i >= this.offset && i < available) sum += (this.input[i - this.offset] ?? 0) * (taps[k] ?? 0);
      }
      out.push(Math.max(-32768, Math.min(32767, Math.round(sum))));
      this.nextOut += 1;
    }
    // Forget input no later output can reach.
    const keepFrom = Math.floor(this.nextOut * this.step) - half;
    if (keepFrom > this.offset) {
      this.input = this.input.slice(keepFrom - this.offset);
      this.offset = keepFrom;
    }
    return Int16Array.from(out);
  }

  private tapsFor(fraction: number): Float64Array {
    const key = Math.round(fraction * 1e9);
    let taps = this.taps.get(key);
    if (!taps) {
      const half = Resampler.HALF_TAPS;
      taps = new Float64Array(2 * half);
      for (let k = 0; k < taps.length; k++) taps[k] = this.kernel(fraction + half - 1 - k);
      this.taps.set(key, taps);
    }
    return taps;
  }

  /** Feeds little-endian PCM16 bytes (any length: an odd byte waits for its pair). */
  push(bytes: Uint8Array): Uint8Array {
    let i = 0;
    if (this.carry !== undefined && bytes.length > 0) {
      this.input.push(((this.carry | ((bytes[0] ?? 0) << 8)) << 16) >> 16);
      this.carry = undefined;
      i = 1;
    }
    for (; i + 1 < bytes.length; i += 2) this.input.push((((bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8)) << 16) >> 16);
    if (i < bytes.length) this.carry = bytes[i];
    return pcm16ToBytes(this.emit(false));
  }

  /** Forgets a half sample held back from the last push (its other byte will never come). */
  dropHalfSample(): void {
    this.carry = undefined;
  }

  /** The last samples, once the input has ended. */
  flush(): Uint8Array {
    return pcm16ToBytes(this.emit(true));
  }
}
