import type { JsonObject, JsonValue, ServerToolSpec } from "../../db/tools";
import { readPrefix } from "../../lib/bytes";
import type { Logger } from "../../lib/logger";
import { unixSeconds } from "../../lib/time";
import { signatureHeader } from "../../lib/webhook-signature";
import { webhookUrlProblem } from "../../lib/webhook-urls";
import type { Caller } from "./connections";

/**
 * How one tool call is answered: by a client over its socket (`PendingToolCalls`), or by the
 * customer's server over signed HTTPS (`callServerTool`). Either way the answer is an output or an
 * error the model is told about, and it comes within the tool's timeout: no call leaves a turn stuck.
 */

export type ToolAnswer = { output: JsonValue } | { error: string };

/** The largest answer of a server tool (bytes): a result goes back to the model on every later turn. */
export const MAX_TOOL_ANSWER_BYTES = 64 * 1024;

/** Client tool calls waiting for a `tool.result` from a socket. */
export class PendingToolCalls {
  private readonly waiting = new Map<string, { clientSecretMayAnswer: boolean; settle: (answer: ToolAnswer) => void }>();

  /**
   * The first answer to `callId`, or a timeout error after `timeoutMs`. An abort (an interrupt)
   * forgets the call: a result that arrives after it is refused like any unknown call.
   */
  wait(callId: string, clientSecretMayAnswer: boolean, timeoutMs: number, signal: AbortSignal): Promise<ToolAnswer> {
    return new Promise((resolve) => {
      const settle = (answer: ToolAnswer) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.waiting.delete(callId);
        resolve(answer);
      };
      const onAbort = () => settle({ error: "The turn was interrupted." });
      const timer = setTimeout(() => settle({ error: `No client answered within ${timeoutMs} ms.` }), timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.set(callId, { clientSecretMayAnswer, settle });
      if (signal.aborted) onAbort();
    });
  }

  /** A socket's `tool.result`: taken when the call waits and the socket's credential may answer it. */
  answer(callId: string, credential: Caller["credential"], answer: ToolAnswer): "accepted" | "unknown" | "denied" {
    const call = this.waiting.get(callId);
    if (!call) return "unknown";
    if (credential === "client_secret" && !call.clientSecretMayAnswer) return "denied";
    call.settle(answer);
    return "accepted";
  }
}

export interface ServerCall {
  conversation_id: string;
  call_id: string;
  name: string;
  arguments: JsonObject;
}

/**
 * POSTs the call to the tool's URL, signed like a webhook (Standard Webhooks: `webhook-id` is the
 * call id), and reads its JSON answer. The URL policy is checked again now (the setting may have
 * changed since the tool was defined); redirects are not followed; the whole exchange, body
 * included, is bounded by the tool's timeout; an abort of `signal` (an interrupt) aborts the request.
 */
export async function callServerTool(
  tool: ServerToolSpec,
  call: ServerCall,
  ctx: { signal: AbortSignal; allowInsecureUrls: boolean; log: Logger },
): Promise<ToolAnswer> {
  const refusal = webhookUrlProblem(tool.url, ctx.allowInsecureUrls);
  if (refusal) return { error: `The tool's URL is refused: it ${refusal}.` };
  const body = JSON.stringify(call);
  const timestamp = unixSeconds(Date.now());
  const timeout = AbortSignal.timeout(tool.timeout_ms);
  try {
    const res = await fetch(tool.url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.any([ctx.signal, timeout]),
      headers: {
        ...tool.headers,
        "content-type": "application/json",
        "user-agent": "avatar-api-tools/1",
        "webhook-id": call.call_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader([tool.secret], call.call_id, timestamp, body),
      },
    });
    if (res.status >= 300 && res.status < 400) {
      void res.body?.cancel().catch(() => {});
      return { error: `The tool's server answered a redirect (HTTP ${res.status}); redirects are not followed.` };
    }
    if (!res.ok) {
      void res.body?.cancel().catch(() => {});
      return { error: `The tool's server answered HTTP ${res.status}.` };
    }
    const bytes = await readPrefix(res.body, MAX_TOOL_ANSWER_BYTES + 1);
    if (bytes.byteLength > MAX_TOOL_ANSWER_BYTES) return { error: `The tool's answer is larger than ${MAX_TOOL_ANSWER_BYTES / 1024} KiB.` };
    try {
      return { output: JSON.parse(new TextDecoder().decode(bytes)) as JsonValue };
    } catch {
      return { error: "The tool's answer is not JSON." };
    }
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout.aborted) return { error: `The tool's server did not answer within ${tool.timeout_ms} ms.` };
    // The URL only: the tool's headers may hold the customer's credentials.
    ctx.log.warn("server tool unreachable", { tool: tool.name, url: tool.url, error: err instanceof Error ? err.message : String(err) });
    return { error: "The tool's server could not be reached." };
  }
}
