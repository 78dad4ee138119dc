/**
 * OpenAI's error body, `{"error": {"message", "type", "code"}}`, which Groq speaks too (its chat and
 * its speech endpoints alike): the explanation, for the log, and the machine code, for the client
 * when `upstreamCode` finds it a plain token.
 */

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** The machine code of an error object: `code` when it has one, else `type`. */
export const openAiErrorCodeOf = (error: unknown): string | undefined => {
  const code = text(field(error, "code"));
  return code === undefined || code === "" ? text(field(error, "type")) : code;
};

/** `error.message` of an error answer's body. */
export const openAiErrorMessage = (body: unknown): string | undefined => text(field(field(body, "error"), "message"));

/** The machine code of an error answer's body. */
export const openAiErrorCode = (body: unknown): string | undefined => openAiErrorCodeOf(field(body, "error"));
