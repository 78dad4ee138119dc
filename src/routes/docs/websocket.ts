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

/**
 * The conversation WebSocket protocol, published as the OpenAPI document's `x-websocket` extension
 * (OpenAPI has no words for a socket's messages). Client events are the very schema the object
 * validates with; server events are listed per type, and the compiler insists every type is here.
 */

interface ServerEventDoc {
  description: string;
  /** Field → its meaning (every event also has type, event_id, seq, ts and, as a reply, reply_to). */
  fields: Record<string, string>;
}

const SERVER_EVENTS: Record<ServerEventType, ServerEventDoc> = {
  "session.ready": {
    description: "First frame on every socket (to that socket only, not logged: no seq).",
    fields: {
      conversation: "The Conversation object; without `metadata` on a socket opened with the client secret (the backend's data is not the browser's).",
      socket_id: "This socket's id (sock_…).",
      last_seq: "The seq of the newest logged event when the socket joined (0: none yet). With ?last_seq, the replay runs up to at least this.",
      state: "What the avatar is doing: idle, listening, thinking or speaking.",
      audio_lead_ms: "Audio is sent at most this far ahead of real time.",
      replay:
        "With ?last_seq=N: {after_seq, events, complete}; `events` logged events follow now; `complete` is false when older events were pruned. Null otherwise.",
    },
  },
  "session.keep_alive.ack": { description: "Answers a session.keep_alive that has an event_id (to that socket only, no seq).", fields: {} },
  "avatar.state": {
    description: "Ephemeral (not logged, no seq, not replayed): what the avatar is doing, each time it changes.",
    fields: {
      state:
        "idle (nothing running), listening (nothing running, the user speaking), thinking (a turn running, no audio yet) or speaking (its audio is going out).",
    },
  },
  "message.created": {
    description: "A stored message: the user's input, or what the avatar said of an interrupted or failed reply.",
    fields: { message: "The Message object." },
  },
  "agent.response.delta": { description: "Text of the reply as the model writes it.", fields: { turn_id: "turn_…", delta: "Text to append." } },
  "agent.response.done": {
    description: "The reply is complete and spoken; its message is stored.",
    fields: { turn_id: "turn_…", message: "The assistant's Message." },
  },
  "avatar.speech.started": { description: "Before the first audio frame of a turn.", fields: { turn_id: "turn_…" } },
  "avatar.audio.delta": {
    description: "Audio of the reply, in order, sentence after sentence.",
    fields: {
      turn_id: "turn_…",
      audio: "Base64 PCM16 little-endian mono at the conversation's output_audio_format rate.",
      format: "pcm_24000 or pcm_16000.",
      alignment:
        '{"chars":[…],"start_ms":[…],"duration_ms":[…]} relative to this frame\'s audio (empty arrays when no character starts in it; the first frame of a sentence after another starts with the space between them, so the frames\' chars joined are the reply), or null when the voice gives no timings.',
    },
  },
  "avatar.speech.stopped": { description: "After the last audio frame of a turn (completed, interrupted or failed).", fields: { turn_id: "turn_…" } },
  "avatar.interrupted": {
    description: "The turn was interrupted (avatar.interrupt, a newer input, the end); its upstream requests were aborted.",
    fields: {
      turn_id: "turn_…",
      spoken_text:
        "What was heard: the text up to the last character whose audio had started at the client's reported playback position (avatar.playback), else at what a client playing each frame as it arrived had played. The stored message keeps only this, with interrupted: true.",
    },
  },
  "metrics.turn": {
    description: "Timings of the turn, from its start, in milliseconds (null when the step did not happen).",
    fields: {
      turn_id: "turn_…",
      llm_first_token_ms: "First text from the model.",
      tts_first_byte_ms: "First audio of the first sentence, from its request.",
      first_audio_ms: "First audio frame sent.",
      total_ms: "The whole turn.",
      stt_final_ms: "Voice turns: from the end of the user's speech (the arrival of its last voiced audio) to the final transcript; null otherwise.",
      voice_to_voice_ms:
        "Voice turns: from the end of the user's speech to the avatar's first audio frame (includes silence_ms when the silence ended the turn); null otherwise.",
    },
  },
  "user.speech.started": {
    description: "Ephemeral (no seq): the VAD heard voice begin on a socket.",
    fields: { socket_id: "The socket whose audio it is.", audio_start_ms: "Where, in ms of that socket's audio since its first frame." },
  },
  "user.speech.stopped": {
    description: "Ephemeral (no seq): the voice ended (after silence_ms of silence, a commit, or the provider's end of turn).",
    fields: { socket_id: "sock_…", audio_end_ms: "The end of the last voiced audio, in the socket's audio clock." },
  },
  "user.transcript.delta": {
    description: "Ephemeral (no seq): what the speech-to-text has heard so far of the current speech.",
    fields: { socket_id: "sock_…", text: "The whole interim text so far (not an increment); a later one may revise words." },
  },
  "user.turn.ended": {
    description: "Why the user's turn ended, so a developer can see why the avatar spoke.",
    fields: {
      socket_id: "sock_…",
      reason:
        "silence (silence_ms of silence, server_vad), provider (the speech-to-text's own endpointing), commit (input.audio.commit) or max_length (30 s of speech).",
      silence_ms: "Silence after the last voiced audio when the turn ended.",
      speech_ms: "From the first to the last voiced audio.",
    },
  },
  "user.transcript.final": {
    description: "The final transcript of the user's speech, stored as the user's message (message.created follows); the turn then runs as for input.text.",
    fields: { socket_id: "sock_…", message: "The user's Message." },
  },
  "user.barge_in": {
    description:
      "The user's voice interrupted the avatar (avatar.interrupted follows): voice at least min_interrupt_ms long while a turn ran, whose interim transcript was more than interruption.ignore_words.",
    fields: {
      socket_id: "sock_…",
      turn_id: "The turn whose audio was going out, or null while it was still thinking.",
      speech_ms: "Voice heard when it decided.",
      transcript: "The interim text then.",
    },
  },
  "user.speech.ignored": {
    description: "Speech that did not become a turn.",
    fields: {
      socket_id: "sock_…",
      reason:
        "backchannel (only interruption.ignore_words, said while the avatar spoke), too_short (voice shorter than min_interrupt_ms while the avatar spoke: a cough, a click) or no_words (nothing recognised).",
      transcript: "What was heard.",
      speech_ms: "From the first to the last voiced audio.",
    },
  },
  "session.updated": {
    description: "A session.update changed how the conversation listens (to every socket; the reply_to is the update's event_id).",
    fields: { voice_input: "{input_audio_format, stt, input_language, turn_detection, interruption}: the settings now." },
  },
  "session.expiring": {
    description: "30 seconds before a limit (at half time for limits under a minute).",
    fields: { seconds_left: "Seconds until the end.", reason: "max_duration or idle_timeout." },
  },
  "session.ended": {
    description:
      "The conversation has ended; sockets are then closed with code 1000. Caused by a session.end frame, it carries that frame's event_id as reply_to.",
    fields: { reason: "api_ended, client_ended, max_duration, idle_timeout or error." },
  },
  error: {
    description:
      "A refused frame (to that socket only) or a failed turn (to every socket). The socket stays open, except after api_key.revoked and conversation.too_many_sockets, which are followed by close code 1008. Codes of refused frames: request.invalid_json, request.too_large (a text frame over 64 KiB, an audio frame over 64 KiB), parameter.missing / invalid / unknown (with param), format.unsupported (an audio frame that is not PCM16: an odd number of bytes), rate_limit.exceeded (over the frame rate, over the audio byte rate, or over the org's rate limit: each input.text, avatar.speak and spoken turn counts as one request), rate_limit.unavailable, scope.denied (a client secret sent avatar.speak, session.end or session.update the conversation's client_permissions do not grant), model.unknown / provider.not_configured (session.update's stt, with param), conversation.ended (also audio on an ended conversation), api_key.revoked (the key behind the socket was revoked), conversation.too_many_sockets (the socket was one too many: nothing else is sent on it).",
    fields: {
      code: "An error code of this document (e.g. parameter.invalid, rate_limit.exceeded, provider.timeout).",
      message: "For people.",
      param: "The offending field, when there is one.",
    },
  },
};

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
  frames: `Text frames of JSON; at most ${MAX_FRAME_BYTES / 1024} KiB and ${MAX_FRAMES_PER_SECOND} a second per socket (beyond that, frames are dropped with one error rate_limit.exceeded). Binary frames carry the user's voice: PCM16 little-endian mono in the conversation's input_audio_format (pcm_16000 by default, pcm_24000), 20 to 100 ms a frame, at most ${MAX_AUDIO_FRAME_BYTES / 1024} KiB, and at most 1.5× real time per socket (10 s of burst; beyond, frames are dropped with one error rate_limit.exceeded); the same frames @cloudflare/voice sends. input.audio.append {audio: base64} carries the same bytes in a text frame and counts as one.`,
  voice:
    "Turn detection (turn_detection, set on create or by session.update): server_vad (default) ends the user's turn after silence_ms (600) of silence below threshold (RMS 0.02 of full scale, per 10 ms), or when the speech-to-text's own endpointing says so, whichever comes first; push_to_talk only on input.audio.commit. Each end is explained by user.turn.ended. Barge-in: voice for min_interrupt_ms (400) while the avatar thinks or speaks interrupts it (user.barge_in, then avatar.interrupted) unless its interim transcript is only interruption.ignore_words (backchannels such as uh-huh, yeah, okay: user.speech.ignored); the speech then becomes the next turn. Seconds of audio received count as stt_seconds usage.",
  envelope:
    "Every server event has type, event_id (evt_…), ts (ISO-8601 with milliseconds) and, when it answers or was caused by a client event with an event_id, reply_to. Logged events (everything a turn, a limit or the end produces) also have seq: per conversation, 1, 2, 3… without gaps, replayed on resume. Events that are not logged have no seq: those for one socket (session.ready, session.keep_alive.ack, an error answering its frame) and ephemeral broadcasts (avatar.state). To de-duplicate, keep the highest seq seen and skip a logged event whose seq is not above it; handle every event without seq.",
  keep_alive: `The exact frame ${KEEP_ALIVE_FRAME} is answered ${KEEP_ALIVE_ACK} by the runtime without waking the conversation (no event_id, seq or ts); it does not count as activity.`,
  client_events: z.toJSONSchema(ClientEvent, { io: "input", unrepresentable: "any" }),
  server_events: SERVER_EVENTS,
});
