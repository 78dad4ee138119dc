import { AvatarFileError } from "./errors";

/**
 * The glTF binary container (GLB, glTF 2.0 §4.4): a 12-byte header (`glTF`, version 2, total
 * length), then chunks of (length, type, data), each 4-byte aligned: first the JSON chunk, then
 * optionally the BIN chunk. Checked, not converted: what a viewer needs to load it.
 */

const MAGIC = 0x46546c67; // "glTF"
const JSON_CHUNK = 0x4e4f534a; // "JSON"
const BIN_CHUNK = 0x004e4942; // "BIN\0"

export interface GlbInfo {
  jsonBytes: number;
  binBytes: number;
  meshes: number;
  nodes: number;
}

const invalid = (message: string) => new AvatarFileError("avatar.format_invalid", message);

export function validateGlb(bytes: Uint8Array): GlbInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 20 || view.getUint32(0, true) !== MAGIC) throw invalid("Not a GLB file: it does not start with 'glTF'.");
  const version = view.getUint32(4, true);
  if (version !== 2) throw invalid(`The GLB is version ${version}; only glTF 2.0 is read.`);
  const length = view.getUint32(8, true);
  if (length !== bytes.length)
    throw invalid(
      `The GLB header says ${length} bytes, but the file has ${bytes.length}: it is ${length > bytes.length ? "truncated" : "longer than its header says"}.`,
    );
  let at = 12;
  let json: unknown;
  let jsonBytes = 0;
  let binBytes = 0;
  let index = 0;
  while (at < length) {
    if (at + 8 > length) throw invalid(`Chunk ${index} of the GLB has no complete header.`);
    const chunkLength = view.getUint32(at, true);
    const type = view.getUint32(at + 4, true);
    if (chunkLength % 4 !== 0) throw invalid(`Chunk ${index} of the GLB is ${chunkLength} bytes, not a multiple of 4.`);
    if (at + 8 + chunkLength > length) throw invalid(`Chunk ${index} of the GLB runs past the end of the file.`);
    const data = bytes.subarray(at + 8, at + 8 + chunkLength);
    if (index === 0) {
      if (type !== JSON_CHUNK) throw invalid("The GLB's first chunk is not its JSON.");
      try {
        json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(data));
      } catch {
        throw invalid("The GLB's JSON chunk does not parse.");
      }
      jsonBytes = chunkLength;
    } else if (index === 1 && type === BIN_CHUNK) binBytes = chunkLength;
    else if (type === JSON_CHUNK || type === BIN_CHUNK) throw invalid(`The GLB has a second ${type === JSON_CHUNK ? "JSON" : "BIN"} chunk.`);
    at += 8 + chunkLength;
    index += 1;
  }
  if (json === undefined) throw invalid("The GLB has no JSON chunk.");
  const doc = json as { asset?: { version?: unknown }; meshes?: unknown[]; nodes?: unknown[] };
  if (typeof doc !== "object" || doc === null || typeof doc.asset?.version !== "string" || !doc.asset.version.startsWith("2.")) {
    throw invalid("The GLB's JSON has no glTF 2.x 'asset.version'.");
  }
  return { jsonBytes, binBytes, meshes: Array.isArray(doc.meshes) ? doc.meshes.length : 0, nodes: Array.isArray(doc.nodes) ? doc.nodes.length : 0 };
}
