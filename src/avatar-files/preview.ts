import { encodePng } from "./png";
import { SPLAT_BYTES, type SplatSet } from "./splat";

/**
 * A preview of a splat avatar: a front view (looking along +z, y down, the convention of trained
 * scenes) of its splats as soft-edged discs, far ones first, fitted to the square. Not a renderer:
 * enough to recognise the avatar in a list. The splats come largest × most opaque first, so the
 * first `MAX_PREVIEW_SPLATS` are the ones that shape the picture.
 */

export const PREVIEW_SIZE = 512;
const MAX_PREVIEW_SPLATS = 200_000;
const MAX_RADIUS_PX = 8;
const BACKGROUND = [24, 24, 28, 255] as const;

export async function renderPreview(set: SplatSet, size = PREVIEW_SIZE): Promise<Uint8Array> {
  const { min, max } = set.bounds;
  const span = Math.max(max[0] - min[0], max[1] - min[1]) * 1.1 || 1;
  const cx = (min[0] + max[0]) / 2;
  const cy = (min[1] + max[1]) / 2;
  const pixels = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) pixels.set(BACKGROUND, i * 4);

  // Read straight from the records into typed arrays: an object per splat would cost tens of MB for
  // a large avatar, in an isolate of 128 MB that already holds the splats twice.
  const n = Math.min(set.count, MAX_PREVIEW_SPLATS);
  const view = new DataView(set.bytes.buffer, set.bytes.byteOffset, n * SPLAT_BYTES);
  const depth = new Float32Array(n);
  for (let i = 0; i < n; i++) depth[i] = view.getFloat32(i * SPLAT_BYTES + 8, true);
  const order = new Uint32Array(n).map((_, i) => i);
  order.sort((a, b) => (depth[b] as number) - (depth[a] as number));
  for (const i of order) {
    const at = i * SPLAT_BYTES;
    const u = ((view.getFloat32(at, true) - cx) / span + 0.5) * size;
    const v = ((view.getFloat32(at + 4, true) - cy) / span + 0.5) * size;
    const scale = (view.getFloat32(at + 12, true) + view.getFloat32(at + 16, true)) / 2;
    const radius = Math.min(MAX_RADIUS_PX, Math.max(0.75, (scale * size) / span));
    const alpha = (set.bytes[at + 27] as number) / 255;
    for (let y = Math.max(0, Math.floor(v - radius)); y <= Math.min(size - 1, Math.ceil(v + radius)); y++) {
      for (let x = Math.max(0, Math.floor(u - radius)); x <= Math.min(size - 1, Math.ceil(u + radius)); x++) {
        const d2 = ((x + 0.5 - u) ** 2 + (y + 0.5 - v) ** 2) / (radius * radius);
        if (d2 > 1) continue;
        // A Gaussian falloff to the disc's edge.
        const a = alpha * Math.exp(-2 * d2);
        const p = (y * size + x) * 4;
        for (let c = 0; c < 3; c++) pixels[p + c] = Math.round((set.bytes[at + 24 + c] as number) * a + (pixels[p + c] as number) * (1 - a));
      }
    }
  }
  return encodePng(size, size, pixels);
}
