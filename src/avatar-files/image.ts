import { AvatarFileError } from "./errors";

/** A preview image as uploaded for the mock runtime: a PNG or a JPEG, checked to its dimensions. */

export const MAX_IMAGE_SIDE = 8192;

export interface ImageInfo {
  type: "png" | "jpeg";
  width: number;
  height: number;
  contentType: "image/png" | "image/jpeg";
}

const invalid = (message: string) => new AvatarFileError("avatar.format_invalid", message);
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function sized(type: "png" | "jpeg", width: number, height: number): ImageInfo {
  if (width < 1 || height < 1) throw invalid(`The image is ${width}×${height}.`);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new AvatarFileError("avatar.too_large", `The image is ${width}×${height}; at most ${MAX_IMAGE_SIDE} pixels a side are accepted.`);
  }
  return { type, width, height, contentType: type === "png" ? "image/png" : "image/jpeg" };
}

export function imageInfo(bytes: Uint8Array): ImageInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    // IHDR comes first: length 13, then width and height (big endian).
    if (bytes.length < 33 || view.getUint32(8) !== 13 || new TextDecoder().decode(bytes.subarray(12, 16)) !== "IHDR")
      throw invalid("The PNG has no IHDR chunk.");
    if (new TextDecoder().decode(bytes.subarray(bytes.length - 8, bytes.length - 4)) !== "IEND")
      throw invalid("The PNG does not end with IEND: it is truncated.");
    return sized("png", view.getUint32(16), view.getUint32(20));
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    if (bytes[bytes.length - 2] !== 0xff || bytes[bytes.length - 1] !== 0xd9)
      throw invalid("The JPEG does not end with its end-of-image marker: it is truncated.");
    // Segments until a start-of-frame, which holds the dimensions.
    let at = 2;
    while (at + 9 < bytes.length) {
      if (bytes[at] !== 0xff) throw invalid("The JPEG's segments do not line up.");
      const marker = bytes[at + 1] as number;
      const length = view.getUint16(at + 2);
      const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) return sized("jpeg", view.getUint16(at + 7), view.getUint16(at + 5));
      at += 2 + length;
    }
    throw invalid("The JPEG has no frame header (no dimensions).");
  }
  throw invalid("Not a PNG or a JPEG image.");
}
