// @ts-check
// Heard, not sent: a client that plays the avatar's audio in real time from its first frame asks for
// a long story and interrupts it part way; how much audio the stored (and reported) text takes,
// against what the client had played. The conversation keeps the deployment's default lead.
//
// Where each character falls in the audio comes from the frames themselves: a frame lasts its
// decoded bytes / 48 ms (PCM16 at 24 kHz), and its `alignment` gives each character's start and
// duration within it. The stored text ends where its last character's sound ends; whitespace is left
// out of the match (sentences' alignments may or may not carry the space between them).
import WebSocket from "ws";
import { createConversation, now, socketUrl } from "./conversation.mjs";

/** About 1,500 characters (some two minutes of mock speech). */
export const STORY = [
  "Once upon a time, in a village at the edge of a great forest, there lived a clockmaker named Ada.",
  "Every morning she opened her shutters to the smell of pine and bread, and every evening she wound the tower clock by hand.",
  "One winter the clock stopped at seven minutes past three, and nobody in the village could say why.",
  "Ada climbed the tower with her lantern and her smallest screwdriver, and found a sparrow asleep among the gears.",
  "She did not have the heart to wake it, so she sat beside it and listened to the wind instead.",
  "The villagers gathered below, calling up to ask when they would know the time again.",
  "Ada called back that time would wait for a sparrow, just this once, and that they should go home and bake.",
  "By morning the bird had flown, the clock ran again, and the bakers had made more bread than the village could eat.",
  "So they carried the loaves into the forest and left them for the birds, and that became a custom.",
  "Every winter after that, on the day the clock had stopped, the village stopped too.",
  "Nobody worked, nobody hurried, and everybody listened to the wind for seven minutes past three.",
  "Ada grew old, and her apprentice grew up, and the sparrows came back every year to sleep among the gears.",
  "And if you visit that village today, you will find the clock still running, a little slow, exactly as it should.",
  "The sparrows, for their part, have never once been late.",
  "They arrive with the first snow, and they leave when the bread runs out, which is never before spring.",
].join(" ");

/** Bytes of PCM16 at 24 kHz per ms of audio. */
const BYTES_PER_MS = 48;

/**
 * One interrupted story: `interruptMs` after its first audio frame the client interrupts, with an
 * `avatar.playback` report just before when `report` is set.
 * @param {{ apiUrl: string, headers: Record<string, string>, interruptMs: number, report: boolean }} opts
 */
async function interruptedStory({ apiUrl, headers, interruptMs, report }) {
  const conv = await createConversation(apiUrl, headers);
  const ws = new WebSocket(socketUrl(conv, apiUrl), { headers });
  /** Each character (whitespace left out) with where its sound ends in the turn's audio. */
  /** @type {{ ch: string, endMs: number }[]} */
  const timeline = [];
  let audioMs = 0;
  /** @type {number | undefined} */
  let firstAudioAt;
  /** @type {string | undefined} */
  let turnId;
  /** @type {{ heardMs: number, receivedMs: number } | undefined} */
  let interrupt;
  /** @type {number | undefined} */
  let leadMs;
  try {
    const ended = await new Promise((resolve, reject) => {
      /** @type {(() => void) | undefined} */
      let turnEnded;
      /** @type {{ status: string, spokenText: string | null }} */
      const turn = { status: "running", spokenText: null };
      ws.on("message", (data) => {
        const event = JSON.parse(String(data));
        switch (event.type) {
          case "session.ready":
            leadMs = event.audio_lead_ms;
            ws.send(JSON.stringify({ type: "avatar.speak", event_id: "story", text: STORY }));
            return;
          case "avatar.audio.delta": {
            if (firstAudioAt === undefined) {
              firstAudioAt = now();
              turnId = event.turn_id;
              setTimeout(() => {
                // The client has played from its first frame at real-time pace, as far as it had audio.
                const heardMs = Math.min(now() - /** @type {number} */ (firstAudioAt), audioMs);
                interrupt = { heardMs, receivedMs: audioMs };
                if (report) ws.send(JSON.stringify({ type: "avatar.playback", event_id: "played", turn_id: turnId, played_ms: Math.round(heardMs) }));
                ws.send(JSON.stringify({ type: "avatar.interrupt", event_id: "stop" }));
                turnEnded?.();
              }, interruptMs);
            }
            const alignment = event.alignment;
            if (alignment) {
              alignment.chars.forEach((/** @type {string} */ ch, /** @type {number} */ k) => {
                if (ch.trim() !== "") timeline.push({ ch, endMs: audioMs + alignment.start_ms[k] + alignment.duration_ms[k] });
              });
            }
            audioMs += Buffer.from(event.audio, "base64").length / BYTES_PER_MS;
            return;
          }
          case "avatar.interrupted":
            turn.status = "interrupted";
            turn.spokenText = event.spoken_text;
            return;
          case "agent.response.done":
            turn.status = "completed";
            return;
          case "error":
            // Only a server without `avatar.playback` answers it (with an error); anything else fails.
            if (event.reply_to !== "played") reject(new Error(`story failed: ${event.code} ${event.message}`));
            return;
          case "metrics.turn":
            // A turn that ended before the client interrupts (all its audio already sent) is still
            // measured at the interrupt: the client stops playing there.
            turnEnded = () => resolve(turn);
            if (interrupt) turnEnded();
        }
      });
      ws.once("error", reject);
    });
    const res = await fetch(`${apiUrl}/v1/conversations/${conv.id}`, { headers });
    const body = /** @type {{ messages: { role: string, turn_id: string, content: string }[] }} */ (await res.json());
    const stored = body.messages.find((m) => m.role === "assistant" && m.turn_id === turnId)?.content ?? "";
    await fetch(`${apiUrl}/v1/conversations/${conv.id}/end`, { method: "POST", headers });

    const chars = [...stored].filter((ch) => ch.trim() !== "");
    const storedMs = chars.length === 0 ? 0 : (timeline[chars.length - 1]?.endMs ?? NaN);
    const matches = chars.every((ch, i) => timeline[i]?.ch === ch);
    const heardMs = interrupt?.heardMs ?? NaN;
    return {
      interrupt_ms: interruptMs,
      report,
      lead_ms: leadMs ?? null,
      status: ended.status,
      heard_ms: heardMs,
      received_by_interrupt_ms: interrupt?.receivedMs ?? NaN,
      received_ms: audioMs,
      stored_ms: storedMs,
      error_ms: storedMs - heardMs,
      stored_chars: stored.length,
      story_chars: STORY.length,
      spoken_text_is_stored: ended.spokenText === null || ended.spokenText === stored,
      stored_matches_audio: matches,
    };
  } finally {
    ws.close(1000);
  }
}

/**
 * Each interrupt time, without and with a playback report, `repeats` times over.
 * @param {{ apiUrl: string, headers: Record<string, string>, interruptsMs?: number[], repeats?: number }} opts
 */
export async function heardVsStored({ apiUrl, headers, interruptsMs = [700, 5000], repeats = 1 }) {
  const cases = [];
  for (let i = 0; i < repeats; i++) {
    for (const interruptMs of interruptsMs) {
      for (const report of [false, true]) cases.push(await interruptedStory({ apiUrl, headers, interruptMs, report }));
    }
  }
  return { story_chars: STORY.length, cases };
}
