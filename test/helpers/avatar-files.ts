/**
 * Avatar files made by the tests themselves (no binary blobs a reader cannot regenerate): a Gaussian
 * splat PLY as the reference trainer writes it, a splat cloud to fill it, a GLB container.
 */

export interface PlySplat {
  position: [number, number, number];
  dc: [number, number, number];
  opacity: number;
  logScale: [number, number, number];
  rot: [number, number, number, number];
}

const REST = 45;

/** A PLY as the reference trainer writes it: normals, f_dc, 45 f_rest, opacity, scale, rot (floats). */
export function makePly(splats: PlySplat[], opts: { declared?: number; format?: string; drop?: string; extraBytes?: number } = {}): Uint8Array {
  const names = [
    "x",
    "y",
    "z",
    "nx",
    "ny",
    "nz",
    "f_dc_0",
    "f_dc_1",
    "f_dc_2",
    ...Array.from({ length: REST }, (_, i) => `f_rest_${i}`),
    "opacity",
    "scale_0",
    "scale_1",
    "scale_2",
    "rot_0",
    "rot_1",
    "rot_2",
    "rot_3",
  ].filter((n) => n !== opts.drop);
  const header = [
    "ply",
    `format ${opts.format ?? "binary_little_endian 1.0"}`,
    "comment made by the tests",
    `element vertex ${opts.declared ?? splats.length}`,
    ...names.map((n) => `property float ${n}`),
    "end_header",
    "",
  ].join("\n");
  const head = new TextEncoder().encode(header);
  const body = new Float32Array(splats.length * names.length);
  splats.forEach((s, i) => {
    const values: Record<string, number> = {
      x: s.position[0],
      y: s.position[1],
      z: s.position[2],
      f_dc_0: s.dc[0],
      f_dc_1: s.dc[1],
      f_dc_2: s.dc[2],
      opacity: s.opacity,
      scale_0: s.logScale[0],
      scale_1: s.logScale[1],
      scale_2: s.logScale[2],
      rot_0: s.rot[0],
      rot_1: s.rot[1],
      rot_2: s.rot[2],
      rot_3: s.rot[3],
    };
    names.forEach((n, j) => {
      body[i * names.length + j] = values[n] ?? 0.1;
    });
  });
  const out = new Uint8Array(head.length + body.byteLength + (opts.extraBytes ?? 0));
  out.set(head);
  out.set(new Uint8Array(body.buffer), head.length);
  return out;
}

/** A deterministic splat cloud: a disc of coloured splats of varying size. */
export function cloud(n: number): PlySplat[] {
  return Array.from({ length: n }, (_, i) => {
    const t = i / n;
    return {
      position: [Math.cos(t * 40) * t, Math.sin(t * 40) * t, (i % 7) / 7],
      dc: [t * 3 - 1.5, 1 - t * 2, 0.5],
      opacity: (i % 5) - 2,
      logScale: [-4 + (i % 3), -4, -4.5],
      rot: [1 + i, 0.5, -0.25, 2],
    };
  });
}

/** `bytes` in chunks of the sizes given in turn (a network delivers arbitrary slices). */
export async function* chunked(bytes: Uint8Array, sizes = [7, 1000, 33, 65_536]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = sizes[i++ % sizes.length] as number;
    yield bytes.slice(at, at + size);
    at += size;
  }
}

/** A GLB with a JSON chunk (padded with spaces) and a BIN chunk. */
export function makeGlb(json: string, bin = new Uint8Array(8), patch?: (view: DataView) => void): Uint8Array {
  const jsonBytes = new TextEncoder().encode(json);
  const jsonLength = Math.ceil(jsonBytes.length / 4) * 4;
  const total = 12 + 8 + jsonLength + 8 + bin.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x46546c67, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, total, true);
  view.setUint32(12, jsonLength, true);
  view.setUint32(16, 0x4e4f534a, true);
  out.fill(0x20, 20, 20 + jsonLength);
  out.set(jsonBytes, 20);
  view.setUint32(20 + jsonLength, bin.length, true);
  view.setUint32(24 + jsonLength, 0x004e4942, true);
  out.set(bin, 28 + jsonLength);
  patch?.(view);
  return out;
}
