import type { Config } from "../../config";
import type { JsonObject } from "../../db/tools";
import type { Logger } from "../../lib/logger";
import { estimateMessages, estimateTokens } from "../../providers/llm/estimate";
import type { ChatRequest, LlmProvider, ToolCallDelta, ToolDefinition, Usage } from "../../providers/llm/types";
import type { SpeechChunk } from "../../providers/tts/types";
import type { Playback } from "./playback";
import { SentenceSplitter, splitSentences } from "./sentences";
import { SpeechQueue, type SpeechSettings } from "./speech-queue";

/**
 * One turn of the avatar: the LLM's answer streamed as text, cut into sentences as it arrives, each
 * sentence spoken as soon as it is complete, the audio sent in order. The turn knows nothing of
 * sockets or storage: it reports to a sink and returns how it ended.
 *
 * With tools, a reply runs in rounds: the model's text is spoken as it comes, its tool calls are
 * run side by side once its answer is complete (the caller's `TurnTools` knows how), their results
 * go back to the model, and the model answers again, up to MAX_TOOL_ROUNDS rounds of calls (after
 * which it must answer in words). One speech queue carries the whole turn, so what is said before,
 * between and after calls plays as one stream; a round whose tools are slow gets a filler line
 * (once a turn) so the user never hears dead air.
 */

/** Rounds of tool calls a turn may make; the model's next answer may not call any. */
export const MAX_TOOL_ROUNDS = 5;
/** How long tools may run before the avatar says its filler line. */
export const FILLER_AFTER_MS = 1000;

/** A call the model made: `arguments` null when its JSON was not an object (the call is refused). */
export interface ToolCallPlan {
  id: string;
  name: string;
  arguments: JsonObject | null;
}

/** What the model is told a call returned: JSON text. */
export interface ToolResultPlan {
  content: string;
  isError: boolean;
}

/** The tools of a turn, as the conversation provides them. */
export interface TurnTools {
  /** Sent to the model (the built-ins included). */
  definitions: ToolDefinition[];
  /** Runs one round's calls side by side (announcing and recording them); honours `signal`. */
  run(calls: readonly ToolCallPlan[], signal: AbortSignal): Promise<ToolResultPlan[]>;
  /** The line to say when the round's tools are slow; null for none. */
  filler(calls: readonly ToolCallPlan[]): string | null;
  /** Said when the model ends the conversation without a word of its own. */
  goodbye: string;
}

export type TurnInput =
  /** The LLM answers `request` (the history ending with the user's message). */
  | { kind: "reply"; llm: LlmProvider; request: ChatRequest; tools?: TurnTools }
  /** The avatar says `text` exactly. */
  | { kind: "speak"; text: string };

export interface TurnSink {
  delta(text: string): void;
  speechStarted(): void;
  audio(chunk: SpeechChunk, spokenSoFar: string): void;
}

export interface TurnContext {
  /** Aborted by an interrupt (or a newer turn, or the conversation's end). */
  signal: AbortSignal;
  config: Config;
  log: Logger;
  now: () => number;
  /** Tracks the turn's audio against what the client reports having played. */
  playback?: Playback;
  /**
   * Settles once the turn's input has been announced (its `message.created`): the reply's first
   * event waits for it, so the model can be asked before the input is written and the input still
   * comes first.
   */
  announced?: Promise<void>;
}

export interface TurnMetrics {
  llm_first_token_ms: number | null;
  tts_first_byte_ms: number | null;
  first_audio_ms: number | null;
  total_ms: number;
  /** Time spent waiting for tools (each round's calls run side by side and count once); null without tools. */
  tool_ms: number | null;
}

/** What a turn consumed, for the org's usage. */
export interface TurnUsage {
  ttsCharacters: number;
  llmInputTokens: number;
  llmOutputTokens: number;
  /** Of the two above, how many were estimated (the provider reported no usage). */
  llmEstimatedTokens: number;
}

export interface TurnOutcome {
  status: "completed" | "interrupted" | "failed";
  /** All the text of the reply that exists (the whole of it when completed). */
  text: string;
  /**
   * What was spoken: all of it when completed; when interrupted, what the client had heard (its
   * report, or what it could have played by then); when failed, what was sent as audio.
   */
  spoken: string;
  speechStarted: boolean;
  /** Why it failed (an ApiError from a provider, usually). */
  error?: unknown;
  metrics: TurnMetrics;
  usage: TurnUsage;
  /** The model called `end_conversation`: the conversation ends once this turn is over. */
  endConversation: boolean;
}

export async function runTurn(input: TurnInput, speech: SpeechSettings, sink: TurnSink, ctx: TurnContext): Promise<TurnOutcome> {
  const startedAt = ctx.now();
  // Aborted by the caller (an interrupt) or by the turn itself when speech fails mid-reply, which
  // must stop the LLM too.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const queue = new SpeechQueue(speech, sink, { ...ctx, signal });
  let speechFailure: { error: unknown } | undefined;
  queue.played.catch((error: unknown) => {
    if (!signal.aborted) {
      speechFailure = { error };
      stop.abort(error);
    }
  });
  let text = "";
  let llmFirstTokenAt: number | null = null;
  let toolMs: number | null = null;
  let endConversation = false;
  const usage = { llmInputTokens: 0, llmOutputTokens: 0, llmEstimatedTokens: 0 };

  /**
   * Text of the reply, spoken. The tokens of one answer are joined as the model wrote them ("Hello",
   * ",", " world"); a new part (another round's answer, a filler line) is set apart from what came
   * before it by a space when neither side has one.
   */
  let newPart = false;
  const append = (piece: string) => {
    const gap = newPart && text !== "" && !/\s$/.test(text) && !/^\s/.test(piece) ? " " : "";
    newPart = false;
    text += gap + piece;
    sink.delta(gap + piece);
  };
  const say = (line: string) => {
    newPart = true;
    append(line);
    newPart = true;
    queue.add(line);
  };

  const outcome = (status: TurnOutcome["status"], error?: unknown): TurnOutcome => ({
    status,
    text,
    spoken: status === "completed" ? text : status === "interrupted" ? queue.heardText() : queue.spoken,
    speechStarted: queue.speechStarted,
    ...(error === undefined ? {} : { error }),
    metrics: {
      llm_first_token_ms: llmFirstTokenAt === null ? null : llmFirstTokenAt - startedAt,
      tts_first_byte_ms: queue.ttsFirstByteMs,
      first_audio_ms: queue.firstAudioAt === null ? null : queue.firstAudioAt - startedAt,
      total_ms: ctx.now() - startedAt,
      tool_ms: toolMs,
    },
    usage: { ttsCharacters: queue.synthesizedCharacters, ...usage },
    endConversation,
  });

  try {
    if (input.kind === "speak") {
      text = input.text;
      sink.delta(text);
      for (const sentence of splitSentences(text)) queue.add(sentence);
    } else {
      const { tools } = input;
      const messages = [...input.request.messages];
      let fillerSaid = false;
      for (let round = 0; ; round++) {
        if (round > 0) newPart = true;
        const request: ChatRequest = tools
          ? { ...input.request, messages, tools: tools.definitions, tool_choice: round < MAX_TOOL_ROUNDS ? "auto" : "none" }
          : { ...input.request, messages };
        const answer = await streamAnswer(
          input.llm,
          request,
          { ...ctx, signal },
          () => {
            llmFirstTokenAt ??= ctx.now();
          },
          append,
          (sentence) => queue.add(sentence),
        );
        // The provider's count where it reported one (a stream cut short reports none): else estimated, and counted as such.
        const prompt = answer.usage?.prompt_tokens ?? estimateMessages(messages);
        const completion =
          answer.usage?.completion_tokens ?? (answer.text === "" && answer.calls.length === 0 ? 0 : estimateTokens(answer.text + JSON.stringify(answer.calls)));
        usage.llmInputTokens += prompt;
        usage.llmOutputTokens += completion;
        if (!answer.usage) usage.llmEstimatedTokens += prompt + completion;
        if (!tools || answer.calls.length === 0) break;

        messages.push({
          role: "assistant",
          content: answer.text === "" ? null : answer.text,
          tool_calls: answer.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) } })),
        });
        const toolsStarted = ctx.now();
        const filler = fillerSaid ? null : tools.filler(answer.calls);
        const timer =
          filler === null
            ? undefined
            : setTimeout(() => {
                fillerSaid = true;
                say(filler);
              }, FILLER_AFTER_MS);
        let results: ToolResultPlan[];
        try {
          results = await untilAborted(tools.run(answer.calls, signal), signal);
        } finally {
          if (timer !== undefined) clearTimeout(timer);
        }
        toolMs = (toolMs ?? 0) + (ctx.now() - toolsStarted);
        answer.calls.forEach((call, i) => {
          const result = results[i];
          messages.push({ role: "tool", tool_call_id: call.id, content: result?.content ?? "{}" });
        });
        const names = answer.calls.map((c) => c.name);
        if (names.includes("end_conversation")) {
          endConversation = true;
          if (text.trim() === "") say(tools.goodbye);
          break;
        }
        if (names.includes("wait_for_user")) break;
      }
    }
    queue.close();
    await queue.played;
    return outcome("completed");
  } catch (err) {
    stop.abort(err);
    queue.close();
    if (ctx.signal.aborted) return outcome("interrupted");
    return outcome("failed", speechFailure ? speechFailure.error : err);
  }
}

/** One answer of the model: its text (spoken as it streams) and its tool calls, once complete. */
async function streamAnswer(
  llm: LlmProvider,
  request: ChatRequest,
  ctx: TurnContext,
  onToken: () => void,
  append: (piece: string) => void,
  speak: (sentence: string) => void,
): Promise<{ text: string; calls: ToolCallPlan[]; usage: Usage | undefined }> {
  const stream = await llm.stream(request, { signal: ctx.signal, config: ctx.config, log: ctx.log });
  await ctx.announced;
  const splitter = new SentenceSplitter();
  const calls = new ToolCallCollector();
  let text = "";
  let usage: Usage | undefined;
  for await (const event of stream) {
    if (event.type === "usage") usage = event.usage;
    if (event.type !== "delta") continue;
    if (event.tool_calls) calls.push(event.tool_calls);
    if (!event.content) continue;
    onToken();
    const piece = event.content;
    text += piece;
    append(piece);
    for (const sentence of splitter.push(piece)) speak(sentence);
  }
  for (const sentence of splitter.flush()) speak(sentence);
  return { text, calls: calls.done(), usage };
}

/** Streamed tool-call fragments, put together by index (OpenAI's `delta.tool_calls`). */
class ToolCallCollector {
  private readonly calls = new Map<number, { id: string; name: string; args: string }>();

  push(deltas: readonly ToolCallDelta[]): void {
    for (const d of deltas) {
      const call = this.calls.get(d.index) ?? { id: "", name: "", args: "" };
      if (d.id) call.id = d.id;
      if (d.function?.name) call.name += d.function.name;
      if (d.function?.arguments) call.args += d.function.arguments;
      this.calls.set(d.index, call);
    }
  }

  done(): ToolCallPlan[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ id: c.id || `call_${index}`, name: c.name, arguments: objectOf(c.args) }));
  }
}

function objectOf(json: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(json === "" ? "{}" : json);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : null;
  } catch {
    return null;
  }
}

/** `work`, or a rejection as soon as `signal` aborts (an interrupt does not wait for a slow tool). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
