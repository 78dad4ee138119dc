import { describe, expect, it } from "vitest";
import { concat, decodeBase64 } from "../../src/lib/bytes";
import { encodeBase64 } from "../../src/lib/crypto";

/** The byte helpers the audio paths share (src/lib/bytes.ts). */

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("concat", () => {
  it("joins any number of parts in order", () => {
    expect(concat(bytes(1, 2), bytes(3), bytes(4, 5, 6))).toEqual(bytes(1, 2, 3, 4, 5, 6));
    expect(concat(bytes(1), bytes(2))).toEqual(bytes(1, 2));
  });

  it("joins views at an offset by their own bytes, not their buffers'", () => {
    const whole = bytes(9, 9, 1, 2, 9, 3, 9);
    expect(concat(whole.subarray(2, 4), whole.subarray(5, 6))).toEqual(bytes(1, 2, 3));
  });

  it("gives a lone non-empty part back as it is, and nothing as an empty array", () => {
    const only = bytes(7, 8);
    expect(concat(new Uint8Array(0), only, new Uint8Array(0))).toBe(only);
    expect(concat(only)).toBe(only);
    expect(concat()).toEqual(new Uint8Array(0));
    expect(concat(new Uint8Array(0), new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it("copies when it joins: changing a part later does not change the result", () => {
    const a = bytes(1, 2);
    const joined = concat(a, bytes(3));
    a[0] = 100;
    expect(joined).toEqual(bytes(1, 2, 3));
  });
});

describe("decodeBase64", () => {
  it("reads what encodeBase64 wrote, every byte value and every padding", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const length of [0, 1, 2, 3, 4, 255, 256]) expect(decodeBase64(encodeBase64(all.subarray(0, length)))).toEqual(all.subarray(0, length));
  });

  it("takes base64 without its padding", () => {
    expect(decodeBase64("AQI")).toEqual(bytes(1, 2));
  });

  it("throws on what is not base64", () => {
    expect(() => decodeBase64("not base64!")).toThrow();
  });
});
