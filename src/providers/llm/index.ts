import { ApiError, quote } from "../../lib/errors";
import { anthropic } from "./anthropic";
import { mock } from "./mock";
import { groq, openai } from "./openai";
import type { LlmProvider, LlmProviderId, ModelInfo } from "./types";

/** Every chat provider, the built-in mock first (it is the one that always works). */
export const LLM_PROVIDERS: readonly LlmProvider[] = [mock, openai, anthropic, groq];

const providers = new Map<LlmProviderId, LlmProvider>(LLM_PROVIDERS.map((p) => [p.id, p]));
const models = new Map<string, { provider: LlmProvider; model: ModelInfo }>(
  LLM_PROVIDERS.flatMap((provider) => provider.models.map((model) => [model.id, { provider, model }] as const)),
);

/** A model by its public id (`<provider>:<name>`), with the provider that serves it. */
export const findModel = (id: string) => models.get(id);

export const llmProvider = (id: LlmProviderId): LlmProvider | undefined => providers.get(id);

/** The model of `id`, or `422 model.unknown` naming `param`. */
export function requireModel(id: string, param = "model") {
  const found = findModel(id);
  if (!found) throw new ApiError("model.unknown", `No model ${quote(id)}; GET /v1/models lists them.`, { param });
  return found;
}
