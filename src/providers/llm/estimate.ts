import type { ChatMessage } from "./types";

/**
 * Tokens estimated rather than counted (about four characters each, plus a few per message for the
 * framing): a tokenizer per provider would cost more bundle than the precision is worth. Used to fit
 * a conversation's history into a context window, and to meter a reply whose provider reported no
 * usage (which the usage then marks as estimated).
 */

const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 4;

export const estimateTokens = (text: string) => Math.ceil(text.length / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE;

/** What a model was sent. */
export const estimateMessages = (messages: readonly ChatMessage[]) =>
  messages.reduce(
    (n, m) =>
      n +
      estimateTokens(typeof m.content === "string" ? m.content : "") +
      ("tool_calls" in m && m.tool_calls ? estimateTokens(JSON.stringify(m.tool_calls)) : 0),
    0,
  );
