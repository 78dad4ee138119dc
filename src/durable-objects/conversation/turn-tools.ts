import { BUILTIN_TOOLS, fillerOf, isBuiltinTool, type ToolSpec } from "../../db/tools";
import type { Logger } from "../../lib/logger";
import type { ToolDefinition } from "../../providers/llm/types";
import type { MessageJson, ServerEventBody } from "../conversation.protocol";
import type { ToolCallPlan, ToolResultPlan, TurnTools } from "./pipeline";
import type { NewMessage } from "./store";
import { callServerTool, type PendingToolCalls, type ToolAnswer } from "./tool-calls";

/**
 * The tools of one turn, as the pipeline uses them: the definitions the model is sent, and how a
 * round of calls runs here. Each call is announced (`tool.call`), answered by its client, its server
 * or the conversation itself (the built-ins), then reported (`tool.result`) and stored, the model's
 * calls as an assistant message and each result as a `tool` message, so the transcript, a resume and
 * later turns all see them.
 */

export interface TurnToolsDeps {
  conversationId: string;
  turnId: string;
  tools: readonly ToolSpec[];
  /** Whether the turn came over a socket: a REST turn cannot wait for a client's answer. */
  viaSocket: boolean;
  /** Whether a socket that may answer the client tool is connected (`client: true` admits client-secret sockets). */
  canAnswer: (clientSecretMayAnswer: boolean) => boolean;
  pending: PendingToolCalls;
  emit: (body: ServerEventBody) => void;
  addMessage: (message: NewMessage) => MessageJson;
  language: string | null;
  allowInsecureUrls: boolean;
  log: Logger;
  now: () => number;
}

const GOODBYES: Readonly<Record<string, string>> = {
  en: "Goodbye, and thank you for talking with me.",
  es: "Adiós, y gracias por hablar conmigo.",
  fr: "Au revoir, et merci pour cette conversation.",
  de: "Auf Wiedersehen, und danke für das Gespräch.",
};

const definitionOf = (tool: Pick<ToolSpec, "name" | "description" | "parameters">): ToolDefinition => ({
  type: "function",
  function: { name: tool.name, description: tool.description, parameters: tool.parameters },
});

const BUILTIN_DEFINITIONS: ToolDefinition[] = Object.entries(BUILTIN_TOOLS).map(([name, description]) =>
  definitionOf({ name, description, parameters: { type: "object", properties: {} } }),
);

export function turnTools(deps: TurnToolsDeps): TurnTools {
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));

  /** One call, answered: never throws but for an interrupt. */
  async function answer(call: ToolCallPlan, signal: AbortSignal): Promise<ToolAnswer> {
    if (call.arguments === null) return { error: "The arguments were not a JSON object; call the tool again with valid arguments." };
    if (isBuiltinTool(call.name)) return { output: { ok: true } };
    const tool = byName.get(call.name);
    if (!tool) return { error: `There is no tool named ${JSON.stringify(call.name)}.` };
    if (tool.type === "server") {
      const body = { conversation_id: deps.conversationId, call_id: call.id, name: call.name, arguments: call.arguments };
      return callServerTool(tool, body, { signal, allowInsecureUrls: deps.allowInsecureUrls, log: deps.log });
    }
    if (!deps.viaSocket) return { error: "This tool is answered by a connected app, which a REST turn cannot reach: it is not available here." };
    if (!deps.canAnswer(tool.client)) return { error: "No connected app can answer this tool right now." };
    return deps.pending.wait(call.id, tool.client, tool.timeout_ms, signal);
  }

  async function runOne(call: ToolCallPlan, signal: AbortSignal): Promise<ToolResultPlan> {
    const startedAt = deps.now();
    const result = await answer(call, signal);
    // An interrupt settles a waiting client call too: nothing is reported or stored for it.
    if (signal.aborted) throw signal.reason;
    const isError = "error" in result;
    const content = JSON.stringify(isError ? { error: result.error } : (result.output ?? null));
    deps.emit({
      type: "tool.result",
      turn_id: deps.turnId,
      call_id: call.id,
      name: call.name,
      ...(isError ? { error: result.error } : { output: result.output ?? null }),
      duration_ms: deps.now() - startedAt,
    });
    const message = deps.addMessage({
      role: "tool",
      content,
      turnId: deps.turnId,
      interrupted: false,
      tool: { tool_call_id: call.id, name: call.name, is_error: isError },
    });
    deps.emit({ type: "message.created", message });
    return { content, isError };
  }

  return {
    definitions: [...deps.tools.map(definitionOf), ...BUILTIN_DEFINITIONS],
    goodbye: GOODBYES[deps.language ?? "en"] ?? GOODBYES.en ?? "Goodbye.",
    filler: (calls) => {
      const first = calls.map((c) => byName.get(c.name)).find((tool) => tool !== undefined);
      return first ? fillerOf(first, deps.language) : null;
    },
    run: (calls, signal) => {
      const message = deps.addMessage({
        role: "assistant",
        content: "",
        turnId: deps.turnId,
        interrupted: false,
        tool: { tool_calls: calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) },
      });
      deps.emit({ type: "message.created", message });
      for (const call of calls) {
        const tool = byName.get(call.name);
        deps.emit({
          type: "tool.call",
          turn_id: deps.turnId,
          call_id: call.id,
          name: call.name,
          arguments: call.arguments,
          kind: tool?.type ?? (isBuiltinTool(call.name) ? "builtin" : "unknown"),
          client: tool?.type === "client" && tool.client,
          timeout_ms: tool?.timeout_ms ?? 0,
        });
      }
      return Promise.all(calls.map((call) => runOne(call, signal)));
    },
  };
}
