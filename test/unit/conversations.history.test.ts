import { describe, expect, it } from "vitest";
import { chatHistory } from "../../src/durable-objects/conversation/history";
import type { MessageJson } from "../../src/durable-objects/conversation.protocol";
import { estimateTokens } from "../../src/providers/llm/estimate";

/** What the model is sent for a reply: the stored transcript, newest kept, within its context. */

const message = (i: number, role: "user" | "assistant", content: string): MessageJson => ({
  id: `msg_${i}`,
  object: "message",
  role,
  content,
  turn_id: `turn_${i}`,
  interrupted: false,
  created_at: "2026-01-01T00:00:00Z",
});

const transcript = (n: number, chars: number) =>
  Array.from({ length: n }, (_, i) => message(i, i % 2 === 0 ? "user" : "assistant", `${i}:`.padEnd(chars, "x")));

describe("chatHistory", () => {
  it("sends the system prompt and the whole transcript when it fits", () => {
    const t = transcript(5, 40);
    expect(chatHistory("Be kind.", t, 32_768)).toEqual([{ role: "system", content: "Be kind." }, ...t.map((m) => ({ role: m.role, content: m.content }))]);
    expect(chatHistory(null, t, 32_768)).toHaveLength(5);
  });

  it("drops the oldest messages first to leave room for the reply", () => {
    const t = transcript(41, 400);
    const perMessage = estimateTokens("x".repeat(400));
    // A window of the reply reserve (1024) plus room for ten messages and the prompt.
    const window = 1024 + estimateTokens("Be kind.") + perMessage * 10;
    const sent = chatHistory("Be kind.", t, window);
    expect(sent[0]).toEqual({ role: "system", content: "Be kind." });
    expect(sent.slice(1).map((m) => m.content)).toEqual(t.slice(-10).map((m) => m.content));
  });

  it("always keeps the message being answered, even alone over budget", () => {
    const t = [...transcript(3, 40), message(9, "user", "y".repeat(8000))];
    const sent = chatHistory(null, t, 1024);
    expect(sent).toEqual([{ role: "user", content: "y".repeat(8000) }]);
  });

  it("skips messages with nothing in them (a reply interrupted before a word)", () => {
    const t = [message(1, "user", "Hi"), message(2, "assistant", ""), message(3, "user", "Hello?")];
    expect(chatHistory(null, t, 32_768).map((m) => m.content)).toEqual(["Hi", "Hello?"]);
  });

  it("sends tool calls and results in the providers' shape, and never a result whose call was cut off", () => {
    const call = { ...message(2, "assistant", ""), tool_calls: [{ id: "call_1", name: "lookup", arguments: { order: "A1" } }] };
    const result = { ...message(3, "tool" as "user", '{"status":"shipped"}'), role: "tool" as const, tool_call_id: "call_1", name: "lookup", is_error: false };
    const t = [message(1, "user", "Where is A1?"), call, result, message(4, "assistant", "It shipped."), message(5, "user", "Thanks")];
    expect(chatHistory(null, t, 32_768)).toEqual([
      { role: "user", content: "Where is A1?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"order":"A1"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: '{"status":"shipped"}' },
      { role: "assistant", content: "It shipped." },
      { role: "user", content: "Thanks" },
    ]);
    // A window that reaches the result but not its call: the result goes too.
    const tight = estimateTokens("Thanks") + estimateTokens("It shipped.") + estimateTokens('{"status":"shipped"}') + 1024;
    expect(chatHistory(null, t, tight)).toEqual([
      { role: "assistant", content: "It shipped." },
      { role: "user", content: "Thanks" },
    ]);
  });
});
