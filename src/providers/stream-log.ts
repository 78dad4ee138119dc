import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { ProviderContext } from "./context";
import { type ProviderDescriptor, secretsOf } from "./provider-call";
import { codeNote, redact, unavailable, upstreamCode } from "./upstream";

/**
 * What is logged when a provider's stream fails after its answer began, the same for every
 * provider: by then the client only sees a cut stream (or an error event), so the log is where
 * the operator learns which provider broke off, and how.
 */

export interface StreamLog {
  /** What streams: the log line is `<kind> stream failed` (speech-to-text will be "stt"). */
  kind: "llm" | "tts" | "stt";
  provider: string;
  log: Logger;
  /** The provider's key and host (see `secretsOf`), taken out of anything logged. */
  secrets: readonly string[];
}

/** Where a call's stream failures go: the caller's log, with the provider's key and host redacted. */
export const streamLogOf = (kind: StreamLog["kind"], provider: ProviderDescriptor, ctx: ProviderContext): StreamLog => ({
  kind,
  provider: provider.id,
  log: ctx.log,
  secrets: secretsOf(provider, ctx.config),
});

/**
 * The stream, with its failure logged once on the way out. A caller that left (`CallerGone`) is
 * nobody's failure and is not logged; anything else that is not an `ApiError` is a bug and is
 * left to whoever logs bugs. The error's text goes under `reason`: `message` is the log line's own.
 */
export async function* loggedStream<T>(stream: AsyncIterable<T>, where: StreamLog): AsyncGenerator<T, void> {
  try {
    yield* stream;
  } catch (err) {
    if (err instanceof ApiError) {
      where.log.warn(`${where.kind} stream failed`, { provider: where.provider, code: err.code, reason: redact(err.message, where.secrets) });
    }
    throw err;
  }
}

/**
 * An error the upstream sent inside its stream, after its 200 (OpenAI's `error` chunk,
 * Anthropic's `error` event): its words are logged, redacted; the client learns that the provider
 * broke off, and the upstream's code when it is a plain token.
 */
export function brokeOff(where: StreamLog, said: { detail: string | undefined; code: string | undefined }): ApiError {
  where.log.warn("upstream error mid-stream", {
    provider: where.provider,
    detail: said.detail === undefined ? undefined : redact(said.detail, where.secrets),
    upstream_code: said.code === undefined ? undefined : redact(said.code, where.secrets).slice(0, 200),
  });
  return unavailable(where.provider, `broke off the stream${codeNote(upstreamCode(said.code, where.secrets))}`);
}
