import type { ModelFormat } from "../db/schema";

/**
 * Serving avatar model files from R2 the way HTTP caches and download managers expect (RFC 9110):
 * `If-None-Match` (304), a single byte `Range` (206), an unsatisfiable one (416, with a
 * `Content-Range` that names the size), and anything else about `Range` (bad syntax, several
 * ranges, another unit) ignored, so the whole file is answered (200).
 */

const CONTENT_TYPES: Record<ModelFormat, string> = {
  json: "application/json",
  glb: "model/gltf-binary",
  splat: "application/octet-stream",
  ply: "application/octet-stream",
};

/** A syntactically valid single byte range, not yet checked against the file's size. */
export type RangeSpec = { first: number; last: number | undefined } | { suffix: number };

const DIGITS = /^\d{1,15}$/;

/** Parses `bytes=a-b`, `bytes=a-` or `bytes=-n`; undefined for anything RFC 9110 lets us ignore. */
export function parseRange(header: string | null | undefined): RangeSpec | undefined {
  if (!header) return undefined;
  const match = /^\s*bytes\s*=\s*([^,]*?)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const [first = "", last = "", ...rest] = match[1].split("-");
  if (rest.length > 0) return undefined;
  if (first === "") return DIGITS.test(last) ? { suffix: Number(last) } : undefined;
  if (!DIGITS.test(first) || (last !== "" && !DIGITS.test(last))) return undefined;
  const spec = { first: Number(first), last: last === "" ? undefined : Number(last) };
  // A last position before the first makes the range invalid (not unsatisfiable): it is ignored.
  return spec.last !== undefined && spec.last < spec.first ? undefined : spec;
}

/** The bytes a valid range selects from a file of `size` bytes, or undefined when it selects none. */
export function resolveRange(spec: RangeSpec, size: number): { offset: number; length: number } | undefined {
  if ("suffix" in spec) {
    if (spec.suffix === 0 || size === 0) return undefined;
    const length = Math.min(spec.suffix, size);
    return { offset: size - length, length };
  }
  if (spec.first >= size) return undefined;
  const last = Math.min(spec.last ?? size - 1, size - 1);
  return { offset: spec.first, length: last - spec.first + 1 };
}

/** Weak comparison (RFC 9110 §8.8.3.2) of an If-None-Match list against an entity tag. */
export function noneMatch(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || strip(tag) === strip(etag));
}

export interface ModelFile {
  status: 200 | 206 | 304 | 416;
  headers: Headers;
  body: ReadableStream | null;
}

function describe(object: R2Object, format: ModelFormat | null): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  if (!headers.has("Content-Type")) headers.set("Content-Type", CONTENT_TYPES[format ?? "splat"]);
  headers.set("ETag", object.httpEtag);
  headers.set("Accept-Ranges", "bytes");
  return headers;
}

const whole = (object: R2ObjectBody, format: ModelFormat | null): ModelFile => {
  const headers = describe(object, format);
  headers.set("Content-Length", String(object.size));
  return { status: 200, headers, body: object.body };
};

/**
 * Reads `key` for a request carrying `Range` and `If-None-Match` (only those: an unmet `If-Match`
 * must not become a 304). Undefined when the object does not exist.
 */
export async function readModelFile(bucket: R2Bucket, key: string, format: ModelFormat | null, request: Headers): Promise<ModelFile | undefined> {
  const ifNoneMatch = request.get("If-None-Match");
  const spec = parseRange(request.get("Range"));

  if (spec === undefined) {
    const object = await bucket.get(key, { onlyIf: ifNoneMatch ? new Headers({ "If-None-Match": ifNoneMatch }) : {} });
    if (!object) return undefined;
    if (!("body" in object)) return { status: 304, headers: describe(object, format), body: null };
    return whole(object, format);
  }

  // A range is judged against the file's size, which only its metadata gives; If-None-Match is
  // evaluated first, as RFC 9110 orders preconditions before Range.
  const meta = await bucket.head(key);
  if (!meta) return undefined;
  if (noneMatch(ifNoneMatch, meta.httpEtag)) return { status: 304, headers: describe(meta, format), body: null };
  const range = resolveRange(spec, meta.size);
  if (!range) {
    const headers = describe(meta, format);
    headers.set("Content-Range", `bytes */${meta.size}`);
    return { status: 416, headers, body: null };
  }
  // Pinned to the version whose size was read; if it was replaced meanwhile, serve the new one whole.
  const object = await bucket.get(key, { range, onlyIf: { etagMatches: meta.etag } });
  if (!object) return undefined;
  if (!("body" in object)) {
    const fresh = await bucket.get(key);
    return fresh ? whole(fresh, format) : undefined;
  }
  const headers = describe(object, format);
  headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.size}`);
  headers.set("Content-Length", String(range.length));
  return { status: 206, headers, body: object.body };
}
