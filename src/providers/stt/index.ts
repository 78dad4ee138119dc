import { deepgram } from "./deepgram";
import { mock } from "./mock";
import { groq, openai } from "./openai";
import type { SttProvider } from "./types";
import { workersAi } from "./workers-ai";

/** Every speech-to-text provider, the built-in mock first (it is the one that always works). */
export const STT_PROVIDERS: readonly SttProvider[] = [mock, openai, groq, deepgram, workersAi];

const providers = new Map<string, SttProvider>(STT_PROVIDERS.map((p) => [p.id, p]));

export const sttProvider = (id: string): SttProvider | undefined => providers.get(id);

/**
 * `provider:model` (`openai:whisper-1`, `mock:default`) as the provider and its own model id, or
 * undefined unless the provider exists and offers that model. The model is cut at the first colon
 * only: model ids may hold slashes and colons of their own.
 */
export function parseSttModel(value: string): { provider: SttProvider; model: string } | undefined {
  const colon = value.indexOf(":");
  if (colon < 0) return undefined;
  const provider = sttProvider(value.slice(0, colon));
  const model = value.slice(colon + 1);
  return provider?.models.includes(model) ? { provider, model } : undefined;
}
