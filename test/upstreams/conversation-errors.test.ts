import { afterEach, describe, expect, it, vi } from "vitest";
import { api, expectError } from "../helpers/http";
import { connect, createConversation, type Socket } from "../helpers/ws";
import { DEEPGRAM_VOICE, installFakes, LLM_HOST, sentences, TTS_HOST } from "./fakes";

/**
 * What a conversation's client is told when an upstream refuses: the socket's `error` event and the
 * REST envelope carry the providers' fixed texts (and the upstream's code when it is a plain
 * token), never the upstream's own words.
 */

const MODEL = "openai:gpt-4o-mini";

// Upstream words no client may read, none of which the old blocklist redaction removed: an internal
// host under a suffix it does not list, a private address, a URL to it, and a credential.
const INTERNAL_HOST = "db-primary.corp.lan";
const PRIVATE_IP = "10.12.0.7";
const INTERNAL_URL = `http://${PRIVATE_IP}:8080/internal/debug?trace=1`;
const CREDENTIAL = "AKIAIOSFODNN7EXAMPLE";
const LEAKS = [INTERNAL_HOST, PRIVATE_IP, INTERNAL_URL, CREDENTIAL, "internal/debug", "8080", LLM_HOST, TTS_HOST, "sk-fake", "dg-fake"];
const LEAKY_MESSAGE = `Upstream ${INTERNAL_HOST} (${PRIVATE_IP}) could not route this request; see ${INTERNAL_URL}. Signed with ${CREDENTIAL}.`;

const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  vi.restoreAllMocks();
});

async function talk(body: Record<string, unknown> = {}) {
  const conv = await createConversation({ model: MODEL, ...body });
  const socket = await connect(conv.id);
  sockets.push(socket);
  await socket.next("session.ready");
  return { conv, socket };
}

const post = (path: string, body: unknown) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("upstream refusals in a conversation", () => {
  it("the model's 400: the socket's error event and the REST envelope carry the fixed text and the code, not the upstream's words", async () => {
    installFakes({
      parts: [],
      status: 400,
      errorBody: { error: { message: LEAKY_MESSAGE, type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } },
    });
    const { conv, socket } = await talk();
    socket.send({ type: "input.text", event_id: "q1", text: "Hello?" });
    const error = await socket.next("error");
    expect(error).toMatchObject({ code: "provider.rejected", reply_to: "q1" });
    expect(error.message).toBe("openai refused the request as invalid (upstream code: context_length_exceeded).");
    for (const leak of LEAKS) expect(JSON.stringify(error)).not.toContain(leak);

    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Hi?" });
    const text = await res.clone().text();
    for (const leak of LEAKS) expect(text).not.toContain(leak);
    const envelope = await expectError(res, 400, { type: "invalid_request", code: "provider.rejected" });
    expect(envelope.message).toBe("openai refused the request as invalid (upstream code: context_length_exceeded).");
  });

  it("a hostile code from the model is not echoed on the socket", async () => {
    installFakes({ parts: [], status: 400, errorBody: { error: { message: LEAKY_MESSAGE, type: INTERNAL_URL, param: null, code: "x".repeat(200) } } });
    const { socket } = await talk();
    socket.send({ type: "input.text", text: "Hello?" });
    const error = await socket.next("error");
    expect(error.message).toBe("openai refused the request as invalid.");
  });

  it("speech refused with a 400: the error event carries the fixed text and the code, not the upstream's words", async () => {
    installFakes({ parts: sentences(3), gapMs: 20 }, { status: 400, errorBody: { err_code: "UNSUPPORTED_MODEL", err_msg: LEAKY_MESSAGE, request_id: "x" } });
    const { socket } = await talk({ voice_id: DEEPGRAM_VOICE });
    socket.send({ type: "input.text", text: "Say things." });
    const error = await socket.next("error");
    expect(error).toMatchObject({ code: "provider.rejected" });
    expect(error.message).toBe("deepgram refused the request as invalid (upstream code: UNSUPPORTED_MODEL).");
    for (const leak of LEAKS) expect(JSON.stringify(error)).not.toContain(leak);
  });
});
