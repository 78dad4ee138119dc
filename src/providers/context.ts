import type { Config } from "../config";
import type { Logger } from "../lib/logger";

/**
 * What every provider call is given, LLM and speech alike: the caller's signal, this deployment's
 * settings and the log of whoever asked.
 */
export interface ProviderContext {
  /** Aborting it cancels the upstream request at once (a client that went away, an interrupt). */
  signal: AbortSignal;
  config: Config;
  log: Logger;
}
