import { estimateTokens } from "../../providers/llm/estimate";
import type { ChatMessage } from "../../providers/llm/types";
import type { MessageJson } from "../conversation.protocol";

/**
 * What the LLM is sent for a reply: the system prompt and as much of the stored transcript, newest
 * kept, as fits the model's context window with room left for the answer. Interrupted replies are
 * sent as what was actually said, since that is what the user heard.
 *
 * Tokens are estimated (providers/llm/estimate.ts); the reserve below absorbs the error.
 */

/** Kept free for the reply: voice answers are short, and a window is never filled to the brim. */
const REPLY_RESERVE_TOKENS = 1024;

/** A stored message as the model is sent it: tool calls and results in OpenAI's shape. */
function chatMessage(message: Pick<MessageJson, "role" | "content" | "tool_calls" | "tool_call_id">): ChatMessage {
  if (message.role === "tool") return { role: "tool", content: message.content, tool_call_id: message.tool_call_id ?? "" };
  if (message.role === "assistant" && message.tool_calls?.length) {
    return {
      role: "assistant",
      content: message.content === "" ? null : message.content,
      tool_calls: message.tool_calls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
      })),
    };
  }
  return { role: message.role, content: message.content };
}

const costOf = (message: Pick<MessageJson, "content" | "tool_calls">) =>
  estimateTokens(message.content) + (message.tool_calls ?? []).reduce((n, c) => n + estimateTokens(c.name + JSON.stringify(c.arguments)), 0);

/**
 * `transcript` is oldest first and ends with the user message being answered, which is always kept.
 * Tool results travel with the call that asked for them: a cut that would leave results without
 * their call drops them too (every provider refuses a result whose call it was not shown).
 */
export function chatHistory(
  systemPrompt: string | null,
  transcript: readonly Pick<MessageJson, "role" | "content" | "tool_calls" | "tool_call_id">[],
  contextWindow: number,
): ChatMessage[] {
  let budget = Math.max(0, contextWindow - REPLY_RESERVE_TOKENS) - (systemPrompt ? estimateTokens(systemPrompt) : 0);
  const kept: ChatMessage[] = [];
  for (let i = transcript.length - 1; i >= 0; i--) {
    const message = transcript[i];
    if (!message) continue;
    if (message.content === "" && !message.tool_calls?.length) continue;
    const cost = costOf(message);
    if (cost > budget && kept.length > 0) break;
    budget -= cost;
    kept.push(chatMessage(message));
  }
  // Oldest kept first: results whose call was cut off go too.
  while (kept.at(-1)?.role === "tool") kept.pop();
  kept.reverse();
  return systemPrompt ? [{ role: "system", content: systemPrompt }, ...kept] : kept;
}
