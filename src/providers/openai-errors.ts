import { at, str } from "./json";
import type { ProviderDescriptor } from "./provider-call";

/**
 * OpenAI's error body, `{"error": {"message", "type", "code"}}`, which Groq speaks too (its chat and
 * its speech endpoints alike): the explanation, for the log, and the machine code, for the client
 * when `upstreamCode` finds it a plain token.
 */

/** The machine code of an error object: `code` when it has one, else `type`. */
export const openAiErrorCodeOf = (error: unknown): string | undefined => {
  const code = str(error, "code");
  return code === undefined || code === "" ? str(error, "type") : code;
};

/** `error.message` of an error answer's body. */
export const openAiErrorMessage = (body: unknown): string | undefined => str(body, "error", "message");

/** The machine code of an error answer's body. */
export const openAiErrorCode = (body: unknown): string | undefined => openAiErrorCodeOf(at(body, "error"));

/** What every OpenAI-shaped upstream (OpenAI, Groq's chat and speech) has in common: a Bearer key and this error body. */
export const OPENAI_SHAPED: Pick<ProviderDescriptor, "auth" | "errorMessage" | "errorCode"> = {
  auth: (apiKey) => ({ Authorization: `Bearer ${apiKey}` }),
  errorMessage: openAiErrorMessage,
  errorCode: openAiErrorCode,
};
