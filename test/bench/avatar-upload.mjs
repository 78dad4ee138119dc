// @ts-check
// Custom avatars under load: workerd's memory while a large upload streams through the Worker into
// R2, and how fast the processing job turns a large Gaussian splat PLY into a ready avatar (splats
// per second, from the end of the upload to `ready`, and workerd's peak memory meanwhile).
import { readFileSync } from "node:fs";
import { request } from "node:http";

/** Resident set size of `pid` in MiB, from /proc (Linux). */
const rssMiB = (/** @type {number} */ pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
};

// The reference trainer's layout: position, normals, DC colour, 45 f_rest, opacity, scale, rotation.
const NAMES = [
  "x",
  "y",
  "z",
  "nx",
  "ny",
  "nz",
  "f_dc_0",
  "f_dc_1",
  "f_dc_2",
  ...Array.from({ length: 45 }, (_, i) => `f_rest_${i}`),
  "opacity",
  "scale_0",
  "scale_1",
  "scale_2",
  "rot_0",
  "rot_1",
  "rot_2",
  "rot_3",
];
const STRIDE = NAMES.length * 4;

/** A deterministic splat PLY of about `mib` MiB (248 bytes a splat). */
export function makePly(mib) {
  const count = Math.floor((mib * 2 ** 20) / STRIDE);
  const header = Buffer.from(
    ["ply", "format binary_little_endian 1.0", `element vertex ${count}`, ...NAMES.map((n) => `property float ${n}`), "end_header", ""].join("\n"),
  );
  const body = new Float32Array(count * NAMES.length);
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < count; i++) {
    const at = i * NAMES.length;
    const t = i / count;
    body[at] = Math.cos(t * 90) * t;
    body[at + 1] = Math.sin(t * 90) * t;
    body[at + 2] = random();
    for (let j = 6; j < 54; j++) body[at + j] = random() - 0.5;
    body[at + 54] = random() * 4 - 2; // opacity (logit)
    body[at + 55] = -5 + random() * 2; // log scales
    body[at + 56] = -5 + random() * 2;
    body[at + 57] = -5 + random() * 2;
    body[at + 58] = 1;
    body[at + 59] = random() - 0.5;
    body[at + 60] = random() - 0.5;
    body[at + 61] = random() - 0.5;
  }
  return { bytes: Buffer.concat([header, Buffer.from(body.buffer)]), count };
}

async function create(api, auth, name) {
  const res = await fetch(`${api}/v1/avatars`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name, runtime_type: "gaussian", source_format: "ply" }),
  });
  if (res.status !== 201) throw new Error(`POST /v1/avatars: ${res.status} ${await res.text()}`);
  return /** @type {{ id: string, upload: { url: string } }} */ (await res.json());
}

/** PUTs `bytes` in 1 MiB writes with its Content-Length, sampling workerd's memory until the answer. */
function put(url, bytes, pid) {
  const target = new URL(url);
  const baseline = rssMiB(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 5);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: "PUT", headers: { "Content-Length": bytes.length } },
      (res) => {
        res.resume();
        res.on("end", () => {
          clearInterval(sampler);
          if (res.statusCode !== 200) return reject(new Error(`PUT upload: ${res.statusCode}`));
          resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, baseline_mib: baseline, peak_mib: peak, grew_mib: peak - baseline });
        });
      },
    );
    req.on("error", (err) => {
      clearInterval(sampler);
      reject(err);
    });
    (async () => {
      for (let at = 0; at < bytes.length; at += 2 ** 20) {
        if (!req.write(bytes.subarray(at, at + 2 ** 20))) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })();
  });
}

/**
 * A GET on a fresh connection: under Miniflare, a kept-alive connection was seen closed by workerd
 * as a large avatar's job finished (the next request on it failed with "other side closed"; workerd
 * itself kept serving), which would end the probe for a reason that is not the API's.
 */
const getFresh = (url, headers) =>
  new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
    });
    req.on("error", reject);
    req.end();
  });

/** Polls the avatar until it leaves `processing`, sampling workerd's memory meanwhile. */
async function settle(api, auth, id, pid) {
  const baseline = rssMiB(pid);
  let peak = baseline;
  const started = process.hrtime.bigint();
  for (;;) {
    peak = Math.max(peak, rssMiB(pid));
    const avatar = /** @type {{ status: string, failure: unknown }} */ (await getFresh(`${api}/v1/avatars/${id}`, auth));
    if (avatar.status !== "processing") {
      return {
        status: avatar.status,
        failure: avatar.failure,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        baseline_mib: baseline,
        peak_mib: peak,
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * How fast the job turns a large PLY into a ready avatar (from the end of its upload to ready), and
 * workerd's peak meanwhile against its size before the upload began (run it on a fresh workerd:
 * resident memory never shrinks, so earlier work would leave room that hides the peak).
 * @param {{ api: string, auth: Record<string, string>, pid: number, quick: boolean }} opts
 */
export async function conversionSpeed({ api, auth, pid, quick }) {
  const mib = quick ? 10 : 50;
  const ply = makePly(mib);
  const avatar = await create(api, auth, "bench conversion");
  const sent = await put(avatar.upload.url, ply.bytes, pid);
  const done = await settle(api, auth, avatar.id, pid);
  if (done.status !== "ready") throw new Error(`conversion: ${done.status} ${JSON.stringify(done.failure)}`);
  return { mib, splats: ply.count, upload_s: sent.seconds, ...done, grew_mib: done.peak_mib - sent.baseline_mib, splats_per_s: ply.count / done.seconds };
}

/**
 * workerd's memory while a large upload streams through the Worker into R2, against a 5 MiB one's
 * (the file goes to R2 as it arrives, so workerd should not grow by its size).
 * @param {{ api: string, auth: Record<string, string>, pid: number, quick: boolean }} opts
 */
export async function uploadMemory({ api, auth, pid, quick }) {
  const mib = quick ? 20 : 100;
  const small = await create(api, auth, "bench upload small");
  const warm = await put(small.upload.url, makePly(5).bytes, pid);
  await settle(api, auth, small.id, pid);
  const large = await create(api, auth, "bench upload large");
  const upload = await put(large.upload.url, makePly(mib).bytes, pid);
  await settle(api, auth, large.id, pid);
  return { upload: { mib, ...upload, mib_per_s: mib / upload.seconds }, upload_small: { mib: 5, ...warm } };
}
