// @ts-check
// What visemes cost the Worker: the same speech said over a conversation's socket with visemes on
// and off, the workerd process's CPU time compared, per second of audio sent. Two voices: the mock
// (character timings: visemes follow them) and Deepgram against the fake upstream (no timings:
// visemes are read from the audio).
import { cpuMs, openConversation, UNPACED } from "./conversation.mjs";

const SPEECH =
  "Thanks for your message about the delivery. Your order left the warehouse this morning, and it should arrive on Friday. " +
  "If anything goes wrong, reply here and we will sort it out together. Would you like me to send you the tracking number as well?";

/**
 * @param {{ apiUrl: string, headers: Record<string, string>, voice: string, visemes: boolean, turns: number, workerdPid: number | undefined }} opts
 * @returns {Promise<{ cpuMs: number | null, audioS: number }>}
 */
async function speakTurns({ apiUrl, headers, voice, visemes, turns, workerdPid }) {
  const { ws, listen } = await openConversation(apiUrl, headers, { ...UNPACED, voice_id: voice, output_visemes: visemes });
  let bytes = 0;
  const before = cpuMs(workerdPid);
  for (let i = 0; i < turns; i++) {
    await new Promise((resolve, reject) => {
      listen((e) => {
        if (e.type === "avatar.audio.delta") bytes += Buffer.from(e.audio, "base64").length;
        else if (e.type === "error") reject(new Error(`${e.code}: ${e.message}`));
        else if (e.type === "metrics.turn") resolve(undefined);
      });
      ws.send(JSON.stringify({ type: "avatar.speak", text: SPEECH }));
    });
  }
  const after = cpuMs(workerdPid);
  ws.close(1000);
  return { cpuMs: before === null || after === null ? null : after - before, audioS: bytes / 2 / 24_000 };
}

/** @param {{ apiUrl: string, headers: Record<string, string>, turns: number, workerdPid: number | undefined }} opts */
export async function visemeCost({ apiUrl, headers, turns, workerdPid }) {
  /** @type {Record<string, { off_ms_per_s: number, on_ms_per_s: number, added_ms_per_s: number, audio_s: number }>} */
  const voices = {};
  for (const voice of ["mock:warm", "deepgram:aura-2-thalia-en"]) {
    // Warm up (the viseme table is parsed once an isolate), then alternate off and on twice.
    await speakTurns({ apiUrl, headers, voice, visemes: true, turns: 1, workerdPid });
    const runs = { off: { cpu: 0, audio: 0 }, on: { cpu: 0, audio: 0 } };
    for (const visemes of [false, true, false, true]) {
      const r = await speakTurns({ apiUrl, headers, voice, visemes, turns, workerdPid });
      const run = visemes ? runs.on : runs.off;
      run.cpu += r.cpuMs ?? Number.NaN;
      run.audio += r.audioS;
    }
    const off = runs.off.cpu / runs.off.audio;
    const on = runs.on.cpu / runs.on.audio;
    voices[voice] = { off_ms_per_s: off, on_ms_per_s: on, added_ms_per_s: on - off, audio_s: runs.on.audio };
  }
  return { turns, voices };
}
