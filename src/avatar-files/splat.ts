import { AvatarFileError } from "./errors";

/**
 * The compact `.splat` layout web viewers load (antimatter15/splat): 32 bytes a splat, little
 * endian: position (3 × float32), scale (3 × float32, linear), colour RGBA (4 × uint8, alpha the
 * opacity) and rotation (4 × uint8: a unit quaternion, w first, each component as q × 128 + 128).
 * Splats are sorted by size × opacity, largest first, so a viewer that loads progressively draws
 * the splats that matter first.
 */

export const SPLAT_BYTES = 32;
/** More splats than this is not an avatar (a trained head is 100k to 500k), and 1 million is what sorting them fits in a Worker's 128 MB (two copies of 32 bytes each, plus the keys). */
export const MAX_SPLATS = 1_000_000;

/** One splat as the writer takes it: linear scales, colour bytes, a quaternion of any length. */
export interface Splat {
  position: [number, number, number];
  scale: [number, number, number];
  rgba: [number, number, number, number];
  rotation: [number, number, number, number];
}

export interface Bounds {
  min: [number, number, number];
  max: [number, number, number];
}

export interface SplatSet {
  bytes: Uint8Array;
  count: number;
  bounds: Bounds;
}

/** Writes splats into one buffer of `capacity` records as they come; `finish` sorts them. */
export class SplatWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly keys: Float32Array;
  private count = 0;
  private readonly min: [number, number, number] = [Infinity, Infinity, Infinity];
  private readonly max: [number, number, number] = [-Infinity, -Infinity, -Infinity];

  constructor(private readonly capacity: number) {
    this.bytes = new Uint8Array(capacity * SPLAT_BYTES);
    this.view = new DataView(this.bytes.buffer);
    this.keys = new Float32Array(capacity);
  }

  get written(): number {
    return this.count;
  }

  add(s: Splat): void {
    if (this.count >= this.capacity) throw new AvatarFileError("avatar.format_invalid", `More splats than the ${this.capacity} declared.`);
    const at = this.count * SPLAT_BYTES;
    for (let i = 0; i < 3; i++) {
      this.view.setFloat32(at + i * 4, s.position[i] as number, true);
      this.view.setFloat32(at + 12 + i * 4, s.scale[i] as number, true);
      this.min[i] = Math.min(this.min[i] as number, s.position[i] as number);
      this.max[i] = Math.max(this.max[i] as number, s.position[i] as number);
    }
    this.bytes.set(s.rgba, at + 24);
    const [w, x, y, z] = s.rotation;
    const norm = Math.hypot(w, x, y, z);
    const q = norm > 0 ? [w / norm, x / norm, y / norm, z / norm] : [1, 0, 0, 0];
    for (let i = 0; i < 4; i++) this.bytes[at + 28 + i] = Math.max(0, Math.min(255, Math.round((q[i] as number) * 128 + 128)));
    this.keys[this.count] = s.scale[0] * s.scale[1] * s.scale[2] * (s.rgba[3] / 255);
    this.count += 1;
  }

  /** The splats, largest × most opaque first, with their bounds. */
  finish(): SplatSet {
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => (this.keys[b] as number) - (this.keys[a] as number));
    const sorted = new Uint8Array(this.count * SPLAT_BYTES);
    for (let i = 0; i < order.length; i++) {
      const from = (order[i] as number) * SPLAT_BYTES;
      sorted.set(this.bytes.subarray(from, from + SPLAT_BYTES), i * SPLAT_BYTES);
    }
    return { bytes: sorted, count: this.count, bounds: { min: [...this.min], max: [...this.max] } };
  }
}

/** The splats of a `.splat` file read back (tests, and the preview). */
export function* readSplats(bytes: Uint8Array): Generator<Splat> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + SPLAT_BYTES <= bytes.length; at += SPLAT_BYTES) {
    const f = (i: number) => view.getFloat32(at + i * 4, true);
    const b = (i: number) => bytes[at + i] as number;
    yield {
      position: [f(0), f(1), f(2)],
      scale: [f(3), f(4), f(5)],
      rgba: [b(24), b(25), b(26), b(27)],
      rotation: [(b(28) - 128) / 128, (b(29) - 128) / 128, (b(30) - 128) / 128, (b(31) - 128) / 128],
    };
  }
}

/**
 * An uploaded `.splat`, checked and normalised: a whole number of records, at least one, finite
 * positions and scales, scales not negative; rotations made unit again and the splats sorted.
 */
export function normaliseSplat(bytes: Uint8Array): SplatSet {
  if (bytes.length === 0 || bytes.length % SPLAT_BYTES !== 0) {
    throw new AvatarFileError("avatar.format_invalid", `A .splat file is a whole number of ${SPLAT_BYTES}-byte records; this one has ${bytes.length} bytes.`);
  }
  const count = bytes.length / SPLAT_BYTES;
  if (count > MAX_SPLATS) throw new AvatarFileError("avatar.too_large", `The file has ${count} splats; at most ${MAX_SPLATS} are accepted.`);
  const writer = new SplatWriter(count);
  let index = 0;
  for (const s of readSplats(bytes)) {
    if (![...s.position, ...s.scale].every(Number.isFinite) || s.scale.some((v) => v < 0)) {
      throw new AvatarFileError("avatar.format_invalid", `Splat ${index} of the file has a NaN, infinite or negative position or scale.`);
    }
    writer.add(s);
    index += 1;
  }
  return writer.finish();
}
