import { AvatarFileError } from "./errors";
import { MAX_SPLATS, type Splat, type SplatSet, SplatWriter } from "./splat";

/**
 * 3D Gaussian Splatting PLY files (the layout the reference trainer writes): a text header, then one
 * binary little-endian record per splat with `x, y, z`, `f_dc_0..2` (the colour's DC spherical
 * harmonic), `opacity` (before its sigmoid), `scale_0..2` (logarithms), `rot_0..3` (a quaternion,
 * w first) and optionally normals and `f_rest_*`, which the compact `.splat` layout drops.
 *
 * Read as a stream: the header is checked against the file's size before a single record is read,
 * so a header that lies about its vertex count fails at once, and a record is decoded as soon as its
 * bytes have arrived, so memory holds the output (32 bytes a splat), never the input.
 */

/** The header must end within this many bytes (a real one is about 1.5 KiB). */
export const MAX_HEADER_BYTES = 64 * 1024;

const TYPE_BYTES: Record<string, number> = {
  char: 1,
  int8: 1,
  uchar: 1,
  uint8: 1,
  short: 2,
  int16: 2,
  ushort: 2,
  uint16: 2,
  int: 4,
  int32: 4,
  uint: 4,
  uint32: 4,
  float: 4,
  float32: 4,
  double: 8,
  float64: 8,
};

const REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"] as const;
type Required = (typeof REQUIRED)[number];

export interface PlyHeader {
  vertexCount: number;
  /** Bytes of the header, `end_header\n` included. */
  headerBytes: number;
  /** Bytes of one record. */
  stride: number;
  /** How to read each required property from a record. */
  readers: Record<Required, (view: DataView, at: number) => number>;
}

const reader = (type: string, offset: number): ((view: DataView, at: number) => number) => {
  switch (type) {
    case "char":
    case "int8":
      return (v, at) => v.getInt8(at + offset);
    case "uchar":
    case "uint8":
      return (v, at) => v.getUint8(at + offset);
    case "short":
    case "int16":
      return (v, at) => v.getInt16(at + offset, true);
    case "ushort":
    case "uint16":
      return (v, at) => v.getUint16(at + offset, true);
    case "int":
    case "int32":
      return (v, at) => v.getInt32(at + offset, true);
    case "uint":
    case "uint32":
      return (v, at) => v.getUint32(at + offset, true);
    case "double":
    case "float64":
      return (v, at) => v.getFloat64(at + offset, true);
    default:
      return (v, at) => v.getFloat32(at + offset, true);
  }
};

const invalid = (message: string) => new AvatarFileError("avatar.format_invalid", message);

/** A header's bytes as text, one character a byte (every runtime, whatever its TextDecoder knows). */
const latin1 = (bytes: Uint8Array): string => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
};

/**
 * The header, checked: magic, binary little-endian, one `vertex` element, every required property,
 * and a vertex count that matches the file's size exactly (`totalBytes`).
 */
export function parsePlyHeader(start: Uint8Array, totalBytes: number): PlyHeader {
  const text = latin1(start.subarray(0, MAX_HEADER_BYTES));
  if (!text.startsWith("ply\n") && !text.startsWith("ply\r\n")) throw invalid("Not a PLY file: it does not start with 'ply'.");
  const end = text.indexOf("end_header\n");
  if (end === -1) throw invalid(`The PLY header does not end (no 'end_header') within its first ${MAX_HEADER_BYTES / 1024} KiB.`);
  const headerBytes = end + "end_header\n".length;
  const lines = text
    .slice(0, end)
    .split("\n")
    .map((l) => l.trim());
  let format: string | undefined;
  let vertexCount: number | undefined;
  let stride = 0;
  let element: string | undefined;
  const offsets = new Map<string, { offset: number; type: string }>();
  for (const line of lines.slice(1)) {
    const words = line.split(/\s+/);
    if (words[0] === "format") format = words.slice(1).join(" ");
    else if (words[0] === "element") {
      if (element !== undefined) throw invalid(`The PLY has a '${words[1]}' element after '${element}': a splat file has vertices only.`);
      element = words[1];
      if (element !== "vertex") throw invalid(`The PLY's element is '${element}', not 'vertex'.`);
      const n = /^\d{1,12}$/.test(words[2] ?? "") ? Number(words[2]) : Number.NaN;
      if (!Number.isSafeInteger(n)) throw invalid("The PLY's vertex count is not a whole number.");
      vertexCount = n;
    } else if (words[0] === "property") {
      if (words[1] === "list") throw invalid("The PLY has a list property: a splat file has none.");
      const type = words[1] ?? "";
      const name = words[2] ?? "";
      const size = TYPE_BYTES[type];
      if (size === undefined) throw invalid(`The PLY property '${name}' has an unknown type '${type}'.`);
      offsets.set(name, { offset: stride, type });
      stride += size;
    } else if (words[0] !== "comment" && words[0] !== "obj_info" && line !== "")
      throw invalid(`The PLY header has a line it cannot read: '${line.slice(0, 60)}'.`);
  }
  if (format !== "binary_little_endian 1.0") throw invalid(`The PLY is '${format ?? "without a format"}'; only 'binary_little_endian 1.0' is read.`);
  if (vertexCount === undefined) throw invalid("The PLY has no vertex element.");
  if (vertexCount === 0) throw invalid("The PLY has no vertices.");
  const missing = REQUIRED.filter((name) => !offsets.has(name));
  if (missing.length > 0) throw invalid(`The PLY lacks the Gaussian splat properties ${missing.join(", ")}.`);
  const expected = headerBytes + vertexCount * stride;
  if (totalBytes !== expected) {
    throw invalid(
      `The PLY header declares ${vertexCount} vertices of ${stride} bytes (${expected} bytes with the header), but the file has ${totalBytes}: it is ${totalBytes < expected ? "truncated" : "longer than its header says"}.`,
    );
  }
  // After the size check: a header that lies about its count is a broken file, not a large one.
  if (vertexCount > MAX_SPLATS) throw new AvatarFileError("avatar.too_large", `The PLY has ${vertexCount} splats; at most ${MAX_SPLATS} are accepted.`);
  const readers = Object.fromEntries(
    REQUIRED.map((name) => {
      const p = offsets.get(name) as { offset: number; type: string };
      return [name, reader(p.type, p.offset)];
    }),
  ) as PlyHeader["readers"];
  return { vertexCount, headerBytes, stride, readers };
}

const SH_C0 = 0.28209479177387814;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const toByte = (x: number) => Math.max(0, Math.min(255, Math.round(x)));

/** One record as a splat; a NaN or an infinity anywhere refuses the file (`index` names the splat). */
function splatOf(h: PlyHeader, view: DataView, at: number, index: number): Splat {
  const r = h.readers;
  const values = REQUIRED.map((name) => r[name](view, at));
  if (values.some((v) => !Number.isFinite(v))) throw invalid(`Splat ${index} of the PLY holds a NaN or an infinite value.`);
  const [x, y, z, dc0, dc1, dc2, opacity, s0, s1, s2, q0, q1, q2, q3] = values as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const scale: [number, number, number] = [Math.exp(s0), Math.exp(s1), Math.exp(s2)];
  if (!scale.every(Number.isFinite)) throw invalid(`Splat ${index} of the PLY has a scale too large to hold.`);
  return {
    position: [x, y, z],
    scale,
    rgba: [toByte((0.5 + SH_C0 * dc0) * 255), toByte((0.5 + SH_C0 * dc1) * 255), toByte((0.5 + SH_C0 * dc2) * 255), toByte(sigmoid(opacity) * 255)],
    rotation: [q0, q1, q2, q3],
  };
}

/**
 * Converts a PLY arriving in `chunks` (of a file of `totalBytes`) to splats. Throws
 * `AvatarFileError` for anything that is not a complete, finite Gaussian splat PLY.
 */
export async function convertPly(chunks: AsyncIterable<Uint8Array>, totalBytes: number): Promise<SplatSet> {
  let header: PlyHeader | undefined;
  let pending = new Uint8Array(0);
  let writer: SplatWriter | undefined;
  const take = (bytes: Uint8Array) => {
    const joined = new Uint8Array(pending.length + bytes.length);
    joined.set(pending);
    joined.set(bytes, pending.length);
    pending = joined;
  };
  for await (const chunk of chunks) {
    take(chunk);
    if (!header) {
      // Wait for the whole header (or for proof that there is none in the first 64 KiB).
      if (!latin1(pending.subarray(0, MAX_HEADER_BYTES)).includes("end_header\n") && pending.length < MAX_HEADER_BYTES) continue;
      header = parsePlyHeader(pending, totalBytes);
      writer = new SplatWriter(header.vertexCount);
      pending = pending.slice(header.headerBytes);
    }
    const out = writer as SplatWriter;
    const whole = Math.floor(pending.length / header.stride);
    const view = new DataView(pending.buffer, pending.byteOffset, pending.byteLength);
    for (let i = 0; i < whole; i++) out.add(splatOf(header, view, i * header.stride, out.written));
    pending = pending.slice(whole * header.stride);
  }
  if (!header || !writer) header = parsePlyHeader(pending, totalBytes);
  const written = writer?.written ?? 0;
  if (!writer || written !== header.vertexCount || pending.length > 0) throw invalid(`The PLY ended after ${written} of its ${header.vertexCount} splats.`);
  return writer.finish();
}
