import type { ChatMessage } from "../../providers/llm/types";
import type { MessageJson } from "../conversation.protocol";

/**
 * What the LLM is sent for a reply: the system prompt and as much of the stored transcript, newest
 * kept, as fits the model's context window with room left for the answer. Interrupted replies are
 * sent as what was actually said, since that is what the user heard.
 *
 * Tokens are estimated (about four characters each, plus a few per message for the framing) rather
 * than counted: a tokenizer per provider would cost more bundle than the precision is worth, and the
 * reserve below absorbs the error.
 */

const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 4;
/** Kept free for the reply: voice answers are short, and a window is never filled to the brim. */
const REPLY_RESERVE_TOKENS = 1024;

export const estimateTokens = (text: string) => Math.ceil(text.length / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE;

/** `transcript` is oldest first and ends with the user message being answered, which is always kept. */
export function chatHistory(systemPrompt: string | null, transcript: readonly Pick<MessageJson, "role" | "content">[], contextWindow: number): ChatMessage[] {
  let budget = Math.max(0, contextWindow - REPLY_RESERVE_TOKENS) - (systemPrompt ? estimateTokens(systemPrompt) : 0);
  const kept: ChatMessage[] = [];
  for (let i = transcript.length - 1; i >= 0; i--) {
    const message = transcript[i];
    if (!message) continue;
    if (message.content === "") continue;
    const cost = estimateTokens(message.content);
    if (cost > budget && kept.length > 0) break;
    budget -= cost;
    kept.push({ role: message.role, content: message.content });
  }
  kept.reverse();
  return systemPrompt ? [{ role: "system", content: systemPrompt }, ...kept] : kept;
}
