import { afterEach, describe, expect, it, vi } from "vitest";
import { api, expectError } from "../helpers/http";
import { INTERNAL_URL, LEAKS, leakyMessage } from "../helpers/leaks";
import { closeTalks, DEEPGRAM_VOICE, installFakes, LLM_HOST, sentences, TTS_HOST, talk } from "./fakes";

/**
 * What a conversation's client is told when an upstream refuses: the socket's `error` event and the
 * REST envelope carry the providers' fixed texts (and the upstream's code when it is a plain
 * token), never the upstream's own words.
 */

// The fakes' hosts and keys must not reach a client either.
const CONVERSATION_LEAKS = [...LEAKS, LLM_HOST, TTS_HOST, "sk-fake", "dg-fake"];
const LEAKY_MESSAGE = leakyMessage();

afterEach(() => {
  closeTalks();
  vi.restoreAllMocks();
});

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
    for (const leak of CONVERSATION_LEAKS) expect(JSON.stringify(error)).not.toContain(leak);

    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "Hi?" });
    const text = await res.clone().text();
    for (const leak of CONVERSATION_LEAKS) expect(text).not.toContain(leak);
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
    for (const leak of CONVERSATION_LEAKS) expect(JSON.stringify(error)).not.toContain(leak);
  });
});
