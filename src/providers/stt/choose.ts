import type { Config } from "../../config";
import { ApiError } from "../../lib/errors";
import { parseSttModel, STT_PROVIDERS } from "./index";
import type { SttProvider } from "./types";

/** Every `provider:model` there is, for error messages and documentation. */
export const STT_MODEL_IDS: readonly string[] = STT_PROVIDERS.flatMap((p) => p.models.map((m) => `${p.id}:${m}`));

/**
 * A conversation's `stt` (`provider:model`), checked where it is set (create, `session.update`):
 * 422 `model.unknown` for one that does not exist, 503 `provider.not_configured` for one this
 * deployment has no key for. Both name `param`.
 */
export function chooseStt(value: string, config: Config, param = "stt"): { provider: SttProvider; model: string } {
  const chosen = parseSttModel(value);
  if (!chosen) {
    throw new ApiError("model.unknown", `No speech-to-text model '${value}'; one of ${STT_MODEL_IDS.map((id) => `'${id}'`).join(", ")}.`, { param });
  }
  if (!chosen.provider.configured(config)) {
    throw new ApiError(
      "provider.not_configured",
      `${chosen.provider.name} is not configured on this deployment; use another speech-to-text (mock:default always works).`,
      {
        param,
      },
    );
  }
  return chosen;
}
