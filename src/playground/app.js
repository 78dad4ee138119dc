// The playground page (GET /playground): a developer tries an avatar with nothing but an API key.
// Built on the API's own TypeScript client (src/client), bundled with it at install by
// src/cli/docs-assets.mjs; served as a file so the page's CSP allows no inline script at all.
import { AudioPlayer, AvatarClient, ConversationConnection, Microphone } from "../client/index";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "avatar-playground-key";
const DEMO_KEY = "av_test_demo00000000000000000000000000000000";
const LOCAL = ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname);
/** Mouth openness (the SVG ellipse's ry) for each OVR viseme index: closed for sil and PP, widest for aa. */
const OPENNESS = [2, 1, 4, 5, 6, 7, 6, 4, 6, 7, 16, 11, 8, 13, 9];

const player = new AudioPlayer();
/** What tests and curious developers can look at: window.playground. */
const state = { client: undefined, conversation: undefined, connection: undefined, player, mic: undefined, mouthMoves: 0, messages: new Map(), errors: [] };
window.playground = state;

function showError(err) {
  const box = $("error");
  const id = err?.requestId ? ` (request_id ${err.requestId})` : "";
  const code = err?.code ? `${err.code}: ` : "";
  box.textContent = `${code}${err?.message ? err.message : String(err)}${id}`;
  box.hidden = false;
  state.errors.push(box.textContent);
}
const clearError = () => {
  $("error").hidden = true;
};

function client() {
  const apiKey = $("api-key").value.trim();
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  return new AvatarClient({ baseUrl: location.origin, apiKey });
}

function option(select, value, label, group) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  (group ?? select).append(o);
}

async function loadLists() {
  clearError();
  try {
    const api = client();
    const [avatars, personas, voices] = await Promise.all([api.listAvatars({ limit: 100 }), api.listPersonas({ limit: 100 }), api.listVoices({ limit: 100 })]);
    const characters = new Map(avatars.data.map((a) => [a.id, a.name]));
    // Looks only: a look of a character, or a character without looks.
    const looks = avatars.data.filter((a) => a.looks_count === 0 && a.status === "ready" && a.active);
    $("avatar").replaceChildren();
    for (const a of looks) option($("avatar"), a.id, a.parent_id ? `${a.name} (${characters.get(a.parent_id) ?? a.parent_id})` : a.name);
    $("avatar").dataset.previews = JSON.stringify(Object.fromEntries(looks.map((a) => [a.id, a.preview_img_url])));
    showPreview();
    $("persona").replaceChildren();
    option($("persona"), "", "None (the defaults)");
    const byVertical = new Map();
    for (const p of personas.data) {
      if (!byVertical.has(p.vertical)) {
        const g = document.createElement("optgroup");
        g.label = p.vertical;
        byVertical.set(p.vertical, g);
        $("persona").append(g);
      }
      option($("persona"), p.id, p.name, byVertical.get(p.vertical));
    }
    $("voice").replaceChildren();
    for (const v of voices.data) option($("voice"), v.id, `${v.name} (${v.id})`);
  } catch (err) {
    showError(err);
  }
}

function showPreview() {
  const previews = JSON.parse($("avatar").dataset.previews ?? "{}");
  const url = previews[$("avatar").value];
  $("avatar-preview").hidden = !url;
  if (url) $("avatar-preview").src = url;
}

async function previewVoice() {
  clearError();
  try {
    await player.unlock();
    const wav = await client().previewVoice($("voice").value);
    // WAV: PCM16 mono 24 kHz after a 44-byte header.
    const bytes = new Uint8Array(wav, 44);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    player.play("preview", btoa(binary), 24000);
  } catch (err) {
    showError(err);
  }
}

// --- The conversation ---------------------------------------------------------------------------

function addMessage(message) {
  if (state.messages.has(message.id)) return;
  const li = document.createElement("li");
  li.className = message.role;
  li.dataset.id = message.id;
  li.textContent = message.role === "tool" ? `${message.name}: ${message.content}` : message.content;
  if (message.role === "assistant" && message.tool_calls?.length) li.textContent = `calls ${message.tool_calls.map((c) => c.name).join(", ")}`;
  // A streamed reply's bubble becomes the stored message.
  const pending = message.role === "assistant" ? $("transcript").querySelector(`li[data-turn="${message.turn_id}"]`) : null;
  if (pending && !message.tool_calls?.length) {
    pending.replaceWith(li);
  } else $("transcript").append(li);
  state.messages.set(message.id, message);
  li.scrollIntoView({ block: "nearest" });
}

function streamDelta(turnId, delta) {
  let li = $("transcript").querySelector(`li[data-turn="${turnId}"]`);
  if (!li) {
    li = document.createElement("li");
    li.className = "assistant";
    li.dataset.turn = turnId;
    $("transcript").append(li);
  }
  li.textContent += delta;
}

/** Moves the mouth with the frame's visemes (or its character timings), from when the frame plays. */
function moveMouth(event, startsInMs) {
  const mouth = $("mouth");
  const set = (ry) => {
    mouth.setAttribute("ry", String(ry));
    state.mouthMoves++;
  };
  if (event.visemes) {
    for (const [k, id] of event.visemes.ids.entries()) setTimeout(() => set(OPENNESS[id] ?? 4), startsInMs + event.visemes.start_ms[k]);
  } else if (event.alignment) {
    for (const [k, ch] of event.alignment.chars.entries())
      setTimeout(() => set(/[aeiou]/i.test(ch) ? 12 : /\s/.test(ch) ? 2 : 6), startsInMs + event.alignment.start_ms[k]);
  }
}

function showMetrics(m) {
  const dl = $("metrics");
  dl.replaceChildren();
  for (const [k, v] of Object.entries(m)) {
    if (["type", "event_id", "seq", "ts", "reply_to", "turn_id"].includes(k)) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v === null ? "—" : String(v);
    dl.append(dt, dd);
  }
}

async function start(e) {
  e.preventDefault();
  clearError();
  try {
    await player.unlock();
    const api = client();
    // The page's own socket (client secret) may end the conversation and switch hands-free / hold-to-talk.
    const body = { avatar_id: $("avatar").value, greeting: null, client_permissions: ["session.end", "session.update"] };
    if ($("persona").value) body.persona_id = $("persona").value;
    if ($("voice").value) body.voice_id = $("voice").value;
    const conversation = await api.createConversation(body);
    state.conversation = conversation;
    state.client = api;
    const connection = new ConversationConnection({
      baseUrl: location.origin,
      conversation,
      clientSecret: conversation.client_secret.value,
    });
    state.connection = connection;
    wire(connection, conversation);
    $("talk").hidden = false;
    await connection.opened;
    $("text").focus();
  } catch (err) {
    showError(err);
  }
}

function wire(connection, conversation) {
  const rate = conversation.output_audio_format === "pcm_16000" ? 16000 : 24000;
  const status = (text) => {
    $("connection").textContent = text;
  };
  connection.on("open", () => status("connected"));
  connection.on("session.ready", (e) => {
    status("connected");
    $("avatar-state").textContent = e.state;
  });
  connection.on("reconnecting", (e) => status(`reconnecting (attempt ${e.attempt})…`));
  connection.on("reconnected", (e) => status(`reconnected (${e.replayed} events replayed)`));
  connection.on("closed", (e) => status(`closed (${e.code ?? "no code"})`));
  connection.on("avatar.state", (e) => {
    $("avatar-state").textContent = e.state;
  });
  connection.on("message.created", (e) => addMessage(e.message));
  connection.on("agent.response.delta", (e) => streamDelta(e.turn_id, e.delta));
  connection.on("agent.response.done", (e) => addMessage(e.message));
  connection.on("avatar.audio.delta", (e) => {
    const before = player.playing ? 0 : 50;
    player.play(e.turn_id, e.audio, rate);
    moveMouth(e, before);
    state.lastTurn = e.turn_id;
  });
  connection.on("avatar.interrupted", () => player.stop());
  connection.on("user.transcript.delta", (e) => {
    $("interim").textContent = e.text;
  });
  connection.on("user.transcript.final", () => {
    $("interim").textContent = "";
  });
  connection.on("user.barge_in", () => player.stop());
  connection.on("metrics.turn", (e) => showMetrics(e));
  connection.on("session.expiring", (e) => {
    $("warning").textContent = `The conversation ends in ${e.seconds_left} s (${e.reason}).`;
    $("warning").hidden = false;
  });
  connection.on("session.ended", (e) => {
    status(`ended (${e.reason})`);
    player.stop();
  });
  connection.on("error", (e) => showError({ code: e.code, message: e.message }));
}

function interrupt() {
  const c = state.connection;
  if (c?.state !== "open") return;
  const turnId = state.lastTurn;
  c.interrupt(turnId ? { turnId, playedMs: player.playedMs(turnId) } : undefined);
  player.stop();
}

async function toggleMic() {
  const button = $("mic");
  try {
    if (!state.mic) {
      // Beside this script, with its version: a worklet loads by URL, from this origin (the CSP).
      const workletUrl = new URL(`mic-worklet.js${new URL(import.meta.url).search}`, import.meta.url).href;
      state.mic = new Microphone({ workletUrl, onFrame: (pcm) => state.connection?.sendAudio(pcm) });
      await state.mic.start();
      listenBy("server_vad");
      button.setAttribute("aria-pressed", "true");
      button.textContent = "Microphone: on (hands-free)";
    } else {
      await state.mic.stop();
      state.mic = undefined;
      state.heldOnly = false;
      button.setAttribute("aria-pressed", "false");
      button.textContent = "Microphone: off";
    }
  } catch (err) {
    showError(err);
  }
}

/** How the conversation finds the end of the user's turn: the VAD (hands-free) or the button's release (hold to talk). */
function listenBy(type) {
  if (state.listening === type || state.connection?.state !== "open") return;
  state.connection.updateSession({ turn_detection: { type } });
  state.listening = type;
}

/** Hold to talk: the microphone is live while the button is held; letting go ends the turn (`input.audio.commit`). */
async function holdStart() {
  if (!state.mic) {
    await toggleMic();
    state.heldOnly = true;
    $("mic").textContent = "Microphone: on (hold to talk)";
  }
  listenBy("push_to_talk");
  state.mic?.mute(false);
}
function holdEnd() {
  try {
    state.connection?.commitAudio();
  } catch (err) {
    showError(err);
  }
  // Started by holding: silent again until the next press (hands-free stays live).
  if (state.heldOnly) state.mic?.mute(true);
}

// --- Wiring -------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = sessionStorage.getItem(KEY_STORAGE) ?? "";
  if (LOCAL) {
    $("demo-key").hidden = false;
    $("demo-key").addEventListener("click", () => {
      $("api-key").value = DEMO_KEY;
      void loadLists();
    });
  }
  $("load").addEventListener("click", () => void loadLists());
  $("avatar").addEventListener("change", showPreview);
  // A preview that cannot be loaded (offline, a CDN down) is hidden rather than shown broken.
  $("avatar-preview").addEventListener("error", () => {
    $("avatar-preview").hidden = true;
  });
  $("preview-voice").addEventListener("click", () => void previewVoice());
  $("setup-form").addEventListener("submit", (e) => void start(e));
  $("say").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text || !state.connection) return;
    try {
      state.connection.sendText(text);
      $("text").value = "";
    } catch (err) {
      showError(err);
    }
  });
  $("interrupt").addEventListener("click", interrupt);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") interrupt();
  });
  $("mic").addEventListener("click", () => void toggleMic());
  $("hold").addEventListener("pointerdown", () => void holdStart());
  $("hold").addEventListener("pointerup", holdEnd);
  $("hold").addEventListener("keydown", (e) => {
    if (e.key === " " && !e.repeat) void holdStart();
  });
  $("hold").addEventListener("keyup", (e) => {
    if (e.key === " ") holdEnd();
  });
  $("end").addEventListener("click", () => {
    try {
      state.connection?.end();
    } catch (err) {
      showError(err);
    }
  });
  if ($("api-key").value) void loadLists();
});
