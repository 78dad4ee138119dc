import { z } from "@hono/zod-openapi";
import {
  ClientEvent,
  KEEP_ALIVE_ACK,
  KEEP_ALIVE_FRAME,
  MAX_AUDIO_FRAME_BYTES,
  MAX_FRAME_BYTES,
  MAX_FRAMES_PER_SECOND,
  type ServerEventType,
} from "../../durable-objects/conversation.protocol";
import SERVER_EVENTS_MD from "./server-events.md";

/**
 * The conversation WebSocket protocol, published as the OpenAPI document's `x-websocket` extension
 * (OpenAPI has no words for a socket's messages). Client events are the very schema the object
 * validates with; server events are documented per type in server-events.md, and the OpenAPI test
 * insists every type of the union is there.
 */

interface ServerEventDoc {
  description: string;
  /** Field → its meaning (every event also has type, event_id, seq, ts and, as a reply, reply_to). */
  fields: Record<string, string>;
}

/**
 * The server events' documentation, from server-events.md (prose, so a text module rather than
 * code): `## type`, its description, then `- field: meaning` lines. The OpenAPI test checks that
 * every type of the protocol's union is there, and nothing else.
 */
export function parseServerEvents(markdown: string): Record<ServerEventType, ServerEventDoc> {
  const events: Record<string, ServerEventDoc> = {};
  for (const section of markdown.split(/^## /m).slice(1)) {
    const [type = "", ...lines] = section.split("\n");
    const description: string[] = [];
    const fields: Record<string, string> = {};
    for (const line of lines) {
      const field = /^- ([a-z_]+): (.*)$/.exec(line);
      if (field) fields[field[1] as string] = field[2] as string;
      else if (line.trim() !== "") description.push(line.trim());
    }
    events[type.trim()] = { description: description.join(" "), fields };
  }
  return events as Record<ServerEventType, ServerEventDoc>;
}

/** Built when the document is (once per isolate), not at startup. */
export const websocketProtocol = () => ({
  path: "/v1/conversations/{conversation_id}/ws",
  auth: "Authorization: Bearer <API key>, or ?token=<client secret> (browsers). A socket has the rights of its credential: an API key may send every client event; a client secret may send input.text, avatar.interrupt, avatar.playback, session.keep_alive and voice (binary audio, input.audio.append, commit, clear), and avatar.speak, session.end and session.update only when the conversation's client_permissions name them (scope.denied otherwise). Revoking the API key (or the key that created the conversation, for its client secret) closes its sockets within 10 s.",
  limits:
    "At most CONVERSATION_MAX_SOCKETS (8) sockets per conversation: one more gets an error conversation.too_many_sockets and close code 1008. Each input.text and avatar.speak costs one request of the organisation's rate limit (refused with an error rate_limit.exceeded, nothing stored or called).",
  query: {
    token: "The conversation's client secret.",
    last_seq: "Resume: every logged event after this seq (at least the last 5 minutes), sent after session.ready, then live events, without a gap or a repeat.",
  },
  pacing:
    "A turn's audio is sent at most audio_lead_ms ahead of real time (the conversation's, else CONVERSATION_AUDIO_LEAD_MS, 1500 by default): a client's buffer stays full and an interrupt discards little. Send avatar.playback {turn_id, played_ms} (ms of the turn's audio played) just before avatar.interrupt, or from time to time, and an interrupted turn stores exactly what was heard.",
  frames: `Text frames of JSON; at most ${MAX_FRAME_BYTES / 1024} KiB and ${MAX_FRAMES_PER_SECOND} a second per socket (beyond that, frames are dropped with one error rate_limit.exceeded). Binary frames carry the user's voice: PCM16 little-endian mono in the conversation's input_audio_format (pcm_16000 by default, pcm_24000), 20 to 100 ms a frame, at most ${MAX_AUDIO_FRAME_BYTES / 1024} KiB, and at most 1.5× real time per socket (10 s of burst; beyond, frames are dropped with one error rate_limit.exceeded); the same frames @cloudflare/voice sends. input.audio.append {audio: base64} carries the same bytes in a text frame and counts as one. The server declines permessage-deflate (browsers offer it; the socket opens uncompressed): compressing every audio frame would cost CPU and latency on the conversation's one thread.`,
  voice:
    "Turn detection (turn_detection, set on create or by session.update): server_vad (default) ends the user's turn after silence_ms (600) of silence below threshold (RMS 0.02 of full scale, per 10 ms), or when the speech-to-text's own endpointing says so, whichever comes first; push_to_talk only on input.audio.commit. Each end is explained by user.turn.ended. Barge-in: voice for min_interrupt_ms (400) while the avatar thinks or speaks interrupts it (user.barge_in, then avatar.interrupted) unless its interim transcript is only interruption.ignore_words (backchannels such as uh-huh, yeah, okay: user.speech.ignored); the speech then becomes the next turn. Seconds of audio received count as stt_seconds usage.",
  envelope:
    "Every server event has type, event_id (evt_…), ts (ISO-8601 with milliseconds) and, when it answers or was caused by a client event with an event_id, reply_to. Logged events (everything a turn, a limit or the end produces) also have seq: per conversation, 1, 2, 3… without gaps, replayed on resume (one exception: a reply's agent.response.delta, avatar.speech.started and avatar.audio.delta leave before they are written, so after the conversation restarts in the middle of a reply the sequence goes on past every seq they could have used, at most 256 ahead, and never reuses one). Events that are not logged have no seq: those for one socket (session.ready, session.keep_alive.ack, an error answering its frame) and ephemeral broadcasts (avatar.state). To de-duplicate, keep the highest seq seen and skip a logged event whose seq is not above it; handle every event without seq.",
  keep_alive: `The exact frame ${KEEP_ALIVE_FRAME} is answered ${KEEP_ALIVE_ACK} by the runtime without waking the conversation (no event_id, seq or ts); it does not count as activity.`,
  client_events: z.toJSONSchema(ClientEvent, { io: "input", unrepresentable: "any" }),
  server_events: parseServerEvents(SERVER_EVENTS_MD),
});
