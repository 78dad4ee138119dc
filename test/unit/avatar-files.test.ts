import { describe, expect, it } from "vitest";
import { AvatarFileError } from "../../src/avatar-files/errors";
import { validateGlb } from "../../src/avatar-files/glb";
import { imageInfo } from "../../src/avatar-files/image";
import { convertPly, parsePlyHeader } from "../../src/avatar-files/ply";
import { crc32, encodePng } from "../../src/avatar-files/png";
import { renderPreview } from "../../src/avatar-files/preview";
import { normaliseSplat, readSplats, SPLAT_BYTES } from "../../src/avatar-files/splat";
import { chunked, cloud, makeGlb, makePly, type PlySplat } from "../helpers/avatar-files";

/**
 * The avatar file formats, on files the tests make themselves: a Gaussian splat PLY converted to the
 * compact `.splat` layout, `.splat` checked and normalised, GLB and image containers checked, and a
 * preview rendered to PNG. Every refusal names what to fix.
 */

async function refusal(work: Promise<unknown> | (() => unknown)): Promise<AvatarFileError> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (err) {
    expect(err).toBeInstanceOf(AvatarFileError);
    return err as AvatarFileError;
  }
  throw new Error("expected a refusal");
}

describe("PLY → .splat", () => {
  it("converts every splat: position, linear scale, colour from the DC term, opacity's sigmoid, unit rotation; largest × most opaque first", async () => {
    const source = cloud(500);
    const ply = makePly(source);
    const set = await convertPly(chunked(ply), ply.length);
    expect(set.count).toBe(500);
    expect(set.bytes.length).toBe(500 * SPLAT_BYTES);
    const out = [...readSplats(set.bytes)];
    const keys = out.map((s) => s.scale[0] * s.scale[1] * s.scale[2] * (s.rgba[3] / 255));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).toBeLessThanOrEqual(keys[i - 1] as number);
    // Each source splat is in the output, as the formulas say.
    const first = source[0] as PlySplat;
    const match = out.find((s) => Math.abs(s.position[0] - first.position[0]) < 1e-6 && Math.abs(s.position[1] - first.position[1]) < 1e-6);
    expect(match).toBeDefined();
    expect(match?.scale[0]).toBeCloseTo(Math.exp(first.logScale[0]), 5);
    expect(match?.rgba[0]).toBe(Math.round((0.5 + 0.28209479177387814 * first.dc[0]) * 255));
    expect(match?.rgba[3]).toBe(Math.round((1 / (1 + Math.exp(-first.opacity))) * 255));
    const q = match?.rotation ?? [0, 0, 0, 0];
    expect(Math.hypot(...q)).toBeCloseTo(1, 1);
    expect(set.bounds.min[2]).toBe(0);
    expect(set.bounds.max[2]).toBeCloseTo(6 / 7, 5);
  });

  it("refuses what is not a complete, finite Gaussian splat PLY, saying what to fix", async () => {
    const good = cloud(10);
    const cases: [string, Uint8Array, RegExp][] = [
      ["not a PLY", new TextEncoder().encode("solid cube\n"), /does not start with 'ply'/],
      ["ASCII", makePly(good, { format: "ascii 1.0" }), /only 'binary_little_endian 1.0'/],
      ["a missing property", makePly(good, { drop: "opacity" }), /lacks the Gaussian splat properties opacity/],
      ["a truncated body", makePly(good).subarray(0, makePly(good).length - 5), /truncated/],
      ["trailing bytes", makePly(good, { extraBytes: 8 }), /longer than its header says/],
      ["a header that lies about its count", makePly(good, { declared: 9_000_000 }), /declares 9000000 vertices .* truncated/],
    ];
    for (const [what, bytes, message] of cases) {
      const err = await refusal(convertPly(chunked(bytes), bytes.length));
      expect(err.code, what).toBe("avatar.format_invalid");
      expect(err.message, what).toMatch(message);
    }
    // Over a million splats (a file of the size that many take, which the header is checked against first).
    const one = makePly(good.slice(0, 1), { declared: 1_000_001 });
    const stride = makePly(good.slice(0, 2)).length - makePly(good.slice(0, 1)).length;
    expect((await refusal(() => parsePlyHeader(one, one.length + 1_000_000 * stride))).code).toBe("avatar.too_large");

    const withNan = cloud(10);
    (withNan[6] as PlySplat).position[1] = Number.NaN;
    const nan = makePly(withNan);
    expect((await refusal(convertPly(chunked(nan), nan.length))).message).toMatch(/Splat 6 of the PLY holds a NaN or an infinite value/);
    const inf = cloud(3);
    (inf[2] as PlySplat).logScale[0] = 1e6;
    expect((await refusal(convertPly(chunked(makePly(inf)), makePly(inf).length))).message).toMatch(/too large|infinite/);
  });

  it("a lying header fails on its first bytes: nothing past the header is read", async () => {
    const lie = makePly(cloud(10), { declared: 5_000_000 });
    let pulled = 0;
    async function* counting() {
      for await (const chunk of chunked(lie, [4096])) {
        pulled += 1;
        yield chunk;
      }
    }
    await refusal(convertPly(counting(), lie.length));
    expect(pulled).toBe(1);
    expect(() => parsePlyHeader(lie, lie.length)).toThrow(/declares 5000000 vertices/);
  });

  it("converts at a rate measured here (logged), 32 bytes a splat out", async () => {
    const n = 100_000;
    const ply = makePly(cloud(n));
    const started = performance.now();
    const set = await convertPly(chunked(ply, [1 << 20]), ply.length);
    const seconds = (performance.now() - started) / 1000;
    console.log(`PLY → .splat: ${n} splats (${(ply.length / 1e6).toFixed(1)} MB) in ${(seconds * 1000).toFixed(0)} ms: ${Math.round(n / seconds)} splats/s`);
    expect(set.count).toBe(n);
  });
});

describe(".splat", () => {
  it("checked and normalised: sorted again, rotations made unit; refused when not whole records or not finite", async () => {
    const ply = makePly(cloud(50));
    const converted = await convertPly(chunked(ply), ply.length);
    const again = normaliseSplat(converted.bytes);
    expect(again.count).toBe(50);
    expect(again.bytes).toEqual(converted.bytes);
    expect((await refusal(() => normaliseSplat(converted.bytes.subarray(0, 33)))).message).toMatch(/whole number of 32-byte records/);
    expect((await refusal(() => normaliseSplat(new Uint8Array(0)))).code).toBe("avatar.format_invalid");
    const broken = converted.bytes.slice();
    new DataView(broken.buffer).setFloat32(32 * 3 + 12, -1, true);
    expect((await refusal(() => normaliseSplat(broken))).message).toMatch(/Splat 3 .* negative/);
  });
});

describe("GLB", () => {
  const doc = JSON.stringify({ asset: { version: "2.0" }, meshes: [{}, {}], nodes: [{}] });

  it("a valid container: its chunks and counts", () => {
    expect(validateGlb(makeGlb(doc))).toEqual({ jsonBytes: Math.ceil(doc.length / 4) * 4, binBytes: 8, meshes: 2, nodes: 1 });
  });

  it("refuses a wrong magic, version, length, chunk or JSON", async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ["magic", makeGlb(doc, undefined, (v) => v.setUint32(0, 0x12345678, true)), /does not start with 'glTF'/],
      ["version", makeGlb(doc, undefined, (v) => v.setUint32(4, 1, true)), /version 1/],
      ["truncated", makeGlb(doc).subarray(0, 40), /truncated/],
      ["chunk past the end", makeGlb(doc, undefined, (v) => v.setUint32(12, 4096, true)), /runs past the end/],
      ["JSON", makeGlb("{not json"), /does not parse/],
      ["no asset", makeGlb(JSON.stringify({ meshes: [] })), /asset.version/],
    ];
    for (const [what, bytes, message] of cases) expect((await refusal(() => validateGlb(bytes))).message, what).toMatch(message);
  });
});

describe("images", () => {
  it("a PNG and a JPEG to their dimensions; truncated or foreign files refused", async () => {
    const png = await encodePng(3, 2, new Uint8Array(3 * 2 * 4).fill(200));
    expect(imageInfo(png)).toEqual({ type: "png", width: 3, height: 2, contentType: "image/png" });
    expect((await refusal(() => imageInfo(png.subarray(0, png.length - 6)))).message).toMatch(/truncated/);
    // SOI, an APP0 segment, a baseline frame header (640 × 480), EOI.
    const jpeg = new Uint8Array([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00, 0xff, 0xd9,
    ]);
    expect(imageInfo(jpeg)).toEqual({ type: "jpeg", width: 640, height: 480, contentType: "image/jpeg" });
    expect((await refusal(() => imageInfo(new TextEncoder().encode("GIF89a....")))).message).toMatch(/Not a PNG or a JPEG/);
    const wide = await encodePng(1, 1, new Uint8Array(4));
    new DataView(wide.buffer).setUint32(16, 9000);
    expect((await refusal(() => imageInfo(wide))).code).toBe("avatar.too_large");
  });

  it("the PNG encoder writes what a decoder reads back (CRC and zlib stream checked)", async () => {
    const pixels = Uint8Array.from({ length: 4 * 4 * 4 }, (_, i) => (i * 37) % 256);
    const png = await encodePng(4, 4, pixels);
    // Each chunk's CRC covers its type and data.
    let at = 8;
    while (at < png.length) {
      const view = new DataView(png.buffer, png.byteOffset);
      const length = view.getUint32(at);
      expect(view.getUint32(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
      at += 12 + length;
    }
    const idatLength = new DataView(png.buffer).getUint32(33);
    const raw = new Uint8Array(
      await new Response(new Blob([png.subarray(41, 41 + idatLength)]).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer(),
    );
    expect(raw.length).toBe(4 * (1 + 16));
    expect(raw.subarray(1, 17)).toEqual(pixels.subarray(0, 16));
  });
});

describe("preview", () => {
  it("a 512 × 512 PNG of the splats, not just background", async () => {
    const ply = makePly(cloud(2000));
    const set = await convertPly(chunked(ply), ply.length);
    const png = await renderPreview(set);
    expect(imageInfo(png)).toMatchObject({ type: "png", width: 512, height: 512 });
    const view = new DataView(png.buffer);
    const idatLength = view.getUint32(33);
    const raw = new Uint8Array(
      await new Response(new Blob([png.subarray(41, 41 + idatLength)]).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer(),
    );
    let painted = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const at = y * (1 + 512 * 4) + 1 + x * 4;
        if (raw[at] !== 24 || raw[at + 1] !== 24 || raw[at + 2] !== 28) painted += 1;
      }
    }
    expect(painted).toBeGreaterThan(1000);
  });
});
