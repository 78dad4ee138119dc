// @ts-check
// Writes the demo model assets in migrations/seed/models/ (committed; rerun only to change them).
// Each .splat is a real Gaussian-splat file in the common 32-byte layout: position f32×3,
// scale f32×3, RGBA u8×4, rotation quaternion u8×4 (q·128+128). A sphere of 512 splats.
import { mkdirSync, writeFileSync } from "node:fs";

const dir = new URL("../../migrations/seed/models/", import.meta.url);
mkdirSync(dir, { recursive: true });

/**
 * @param {[number, number, number]} rgb
 * @param {number} [count]
 */
function sphere([r, g, b], count = 512) {
  const buf = Buffer.alloc(count * 32);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < count; i++) {
    const y = 1 - (i / (count - 1)) * 2;
    const radius = Math.sqrt(1 - y * y);
    const theta = golden * i;
    const o = i * 32;
    buf.writeFloatLE(Math.cos(theta) * radius * 0.5, o);
    buf.writeFloatLE(y * 0.5 + 1.6, o + 4);
    buf.writeFloatLE(Math.sin(theta) * radius * 0.5, o + 8);
    for (let k = 0; k < 3; k++) buf.writeFloatLE(0.03, o + 12 + k * 4);
    buf.writeUInt8(r, o + 24);
    buf.writeUInt8(g, o + 25);
    buf.writeUInt8(b, o + 26);
    buf.writeUInt8(255, o + 27);
    buf.writeUInt8(255, o + 28); // w = 1 → identity rotation
    buf.writeUInt8(128, o + 29);
    buf.writeUInt8(128, o + 30);
    buf.writeUInt8(128, o + 31);
  }
  return buf;
}

/** @type {Record<string, [number, number, number]>} */
const splats = {
  "av_gaussian_mira_studio.splat": [241, 194, 125],
  "av_gaussian_mira_street.splat": [198, 134, 66],
  "av_gaussian_mira_evening.splat": [141, 85, 36],
  "av_01KJXMPK00R52WS9AE0Y6BT6W5.splat": [90, 140, 200],
};
for (const [name, color] of Object.entries(splats)) writeFileSync(new URL(name, dir), sphere(color));

const mock = {
  format: "avatar-mock/1",
  avatar_id: "av_demo",
  name: "Demo (Mock)",
  audio: { encoding: "pcm_s16le", sample_rate: 24000 },
  visemes: ["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou"],
  idle: { blink_interval_ms: [2000, 6000], breathing_period_ms: 4000 },
  face: { skin: "#f1c27d", eyes: "#3b2f2f", hair: "#2c1b0e" },
};
writeFileSync(new URL("av_demo.json", dir), `${JSON.stringify(mock, null, 2)}\n`);
