import type { Config } from "../../config";
import type { Logger } from "../../lib/logger";
import type { ChatRequest, LlmProvider, Usage } from "../../providers/llm/types";
import type { SpeechChunk } from "../../providers/tts/types";
import { estimateTokens } from "./history";
import type { Playback } from "./playback";
import { SentenceSplitter, splitSentences } from "./sentences";
import { SpeechQueue, type SpeechSettings } from "./speech-queue";

/**
 * One turn of the avatar: the LLM's answer streamed as text, cut into sentences as it arrives, each
 * sentence spoken as soon as it is complete, the audio sent in order. The turn knows nothing of
 * sockets or storage: it reports to a sink and returns how it ended. Voice input will add a step
 * before it (a transcript becomes the user's text), not change it.
 */

export type TurnInput =
  /** The LLM answers `request` (the history ending with the user's message). */
  | { kind: "reply"; llm: LlmProvider; request: ChatRequest }
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
}

export interface TurnMetrics {
  llm_first_token_ms: number | null;
  tts_first_byte_ms: number | null;
  first_audio_ms: number | null;
  total_ms: number;
}

/** What a turn consumed, for the org's usage. */
export interface TurnUsage {
  ttsCharacters: number;
  llmInputTokens: number;
  llmOutputTokens: number;
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
  let reported: Usage | undefined;

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
    },
    usage: { ttsCharacters: queue.synthesizedCharacters, ...llmUsage(input, reported, text) },
  });

  try {
    if (input.kind === "speak") {
      text = input.text;
      sink.delta(text);
      for (const sentence of splitSentences(text)) queue.add(sentence);
    } else {
      const stream = await input.llm.stream(input.request, { signal, config: ctx.config, log: ctx.log });
      const splitter = new SentenceSplitter();
      for await (const event of stream) {
        if (event.type === "usage") reported = event.usage;
        if (event.type !== "delta" || !event.content) continue;
        llmFirstTokenAt ??= ctx.now();
        text += event.content;
        sink.delta(event.content);
        for (const sentence of splitter.push(event.content)) queue.add(sentence);
      }
      for (const sentence of splitter.flush()) queue.add(sentence);
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

/**
 * The model's tokens: the provider's count where it reported one (a stream cut short never does),
 * else estimated as the history is (about four characters a token).
 */
function llmUsage(input: TurnInput, reported: Usage | undefined, text: string): Omit<TurnUsage, "ttsCharacters"> {
  if (input.kind === "speak") return { llmInputTokens: 0, llmOutputTokens: 0 };
  const sent = input.request.messages.reduce((n, m) => n + estimateTokens(typeof m.content === "string" ? m.content : ""), 0);
  return { llmInputTokens: reported?.prompt_tokens ?? sent, llmOutputTokens: reported?.completion_tokens ?? (text === "" ? 0 : estimateTokens(text)) };
}
