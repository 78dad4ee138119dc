import type { Quotas } from "../../db/schema";
import { ApiError, type ErrorCode } from "../../lib/errors";
import type { LlmProviderId } from "../../providers/llm/types";
import type { TtsProviderId } from "../../providers/tts/voices";

/**
 * What the Worker's services and the Conversation object agree on, in one place both import: the
 * setup the object is created with, and how an error crosses from the object back to a route (by
 * RPC as an `Outcome`, or as the body of a refused WebSocket upgrade). ApiError's class does not
 * survive RPC; its fields do, and `toRpcError`/`fromRpcError` are the only two directions.
 */

/** What the object needs beyond the indexed record to run turns; fixed at creation. */
export interface ConversationSetup {
  systemPrompt: string | null;
  greeting: string | null;
  /** The provider and its own name for the model of `record.model`. */
  llm: { provider: LlmProviderId; model: string; contextWindow: number };
  /** The provider and its own voice id of `record.voiceId`. */
  tts: { provider: TtsProviderId; voice: string };
  /**
   * How far ahead of real time the object sends a turn's audio (ms): enough to keep a client's
   * buffer full, little enough that an interrupt throws away little. Absent on objects created
   * before it existed (the deployment's default applies).
   */
  audioLeadMs?: number;
  /**
   * The daily quotas of the org and of the API key that created it, as they stood at creation
   * (absent on objects created before quotas: none apply).
   */
  quotas?: { org: Quotas; key: Partial<Quotas> | null };
}

/** An error as it crosses RPC. */
export interface RpcError {
  code: ErrorCode;
  message: string;
  param?: string;
  headers?: Record<string, string>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: RpcError };

export const toRpcError = (err: ApiError): RpcError => ({
  code: err.code,
  message: err.message,
  ...(err.param === undefined ? {} : { param: err.param }),
  ...(Object.keys(err.headers).length === 0 ? {} : { headers: err.headers }),
});

export const fromRpcError = ({ code, message, param, headers }: RpcError): ApiError => new ApiError(code, message, { param, ...(headers ? { headers } : {}) });

export const failure = (err: ApiError): Outcome<never> => ({ ok: false, error: toRpcError(err) });

/** The value, or the error thrown as the ApiError it was. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw fromRpcError(outcome.error);
}

/** A refused upgrade, as the object answers it (it has no request id: the route adds the envelope). */
export const errorResponse = (error: ApiError): Response => Response.json({ error: toRpcError(error) }, { status: error.status });

/** The error of a refused upgrade, read back by the route. */
export async function readErrorResponse(response: Response): Promise<ApiError> {
  const body = (await response.json()) as { error: RpcError };
  return fromRpcError(body.error);
}

export const ENDED_MESSAGE = "The conversation has ended.";
export const endedError = () => new ApiError("conversation.ended", `${ENDED_MESSAGE} Create a new one to talk again.`);
