/**
 * Tools a persona or a conversation gives its model, as they are stored (in the persona's row, and
 * in the conversation's record, index and object alike) and as they are shown. A tool is answered
 * either by a client over the conversation's socket (`client`) or by the customer's server, which
 * we POST to, signed the Standard Webhooks way (`server`). Two tools need no definition: the
 * built-ins below are offered to every conversation's model.
 *
 * A server tool's `headers` values and signing `secret` are write-only: shown nowhere but (the
 * secret) in the response of the request that generated it, like a webhook endpoint's secret.
 */

/**
 * A JSON value, typed so that it can cross Durable Object RPC (which `unknown` cannot): tool
 * parameters, arguments and results. Nested values are `object`, not this type again: the RPC
 * types map every level of a recursive type and give up ("excessively deep").
 */
export type JsonValue = null | boolean | number | string | object;
export type JsonObject = { [key: string]: JsonValue };

interface ToolBase {
  name: string;
  description: string;
  /** A JSON Schema object describing the arguments (`{"type":"object",...}`). */
  parameters: JsonObject;
  /** How long an answer may take before the model is told the tool failed. */
  timeout_ms: number;
  /** Said when the tool has not answered within a second: the text, `false` for silence, absent for the language's default. */
  filler?: string | false;
}

export interface ClientToolSpec extends ToolBase {
  type: "client";
  /** Whether a socket opened with the client secret (a browser) may answer it; API-key sockets always may. */
  client: boolean;
}

export interface ServerToolSpec extends ToolBase {
  type: "server";
  url: string;
  /** Sent with every call (an API key of the customer's server, say); never shown. */
  headers: Record<string, string>;
  /** `whsec_…`: signs every call. */
  secret: string;
}

export type ToolSpec = ClientToolSpec | ServerToolSpec;

/** A tool as a request defines it (routes/tools.schemas.ts validates it): the secret optional, defaults applied. */
export type ToolInput =
  | (Omit<ClientToolSpec, "parameters"> & { parameters: Record<string, unknown> })
  | (Omit<ServerToolSpec, "parameters" | "secret"> & { parameters: Record<string, unknown>; secret?: string | undefined });

/** The built-in tools, callable without a definition; a definition may not take their names. */
export const BUILTIN_TOOLS = {
  end_conversation: "End the conversation, after saying goodbye, when the user is done or asks to end it.",
  wait_for_user: "Say nothing more and wait for the user, when they asked for a moment or are not finished.",
} as const;
export type BuiltinToolName = keyof typeof BUILTIN_TOOLS;
export const isBuiltinTool = (name: string): name is BuiltinToolName => Object.hasOwn(BUILTIN_TOOLS, name);

export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
export const MAX_TOOL_TIMEOUT_MS = 30_000;
export const MAX_TOOLS = 32;

/** What a header's value is shown as. */
export const REDACTED = "[redacted]";

/** A tool as responses show it: header values redacted, the secret only when `revealSecret`. */
export function toolJson(tool: ToolSpec, revealSecret = false): Record<string, unknown> {
  const common = {
    type: tool.type,
    name: tool.name,
    description: tool.description,
    parameters: tool.parameters,
    timeout_ms: tool.timeout_ms,
    filler: tool.filler ?? null,
  };
  if (tool.type === "client") return { ...common, client: tool.client };
  return {
    ...common,
    url: tool.url,
    headers: Object.fromEntries(Object.keys(tool.headers).map((name) => [name, REDACTED])),
    ...(revealSecret ? { secret: tool.secret } : {}),
  };
}

/** Fillers by language (ISO 639-1); other languages get English's. */
const FILLERS: Readonly<Record<string, string>> = {
  en: "Let me check that for you.",
  es: "Déjame comprobarlo.",
  fr: "Je vérifie cela pour vous.",
  de: "Einen Moment, ich sehe nach.",
};

/** What the avatar says while `tool` runs long; null: nothing. */
export function fillerOf(tool: Pick<ToolSpec, "filler"> | undefined, language: string | null): string | null {
  if (tool?.filler === false) return null;
  return tool?.filler ?? FILLERS[language ?? "en"] ?? FILLERS.en ?? null;
}
