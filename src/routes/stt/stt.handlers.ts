import { recordUsage } from "../../db/usage";
import { meterOf } from "../../env";
import { transcribeUpload } from "../../services/transcription";
import type { HandlerOf } from "../define-route";
import type * as routes from "./stt.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

export const transcribeHandler: Handler<"transcribe"> = async (c) => {
  const form = c.req.valid("form");
  const result = await transcribeUpload(
    { file: form.file, model: form.model, language: form.language, inputAudioFormat: form.input_audio_format },
    { config: c.get("config"), log: c.get("log"), signal: c.req.raw.signal },
  );
  const db = c.get("db");
  c.executionCtx.waitUntil(
    recordUsage(db, meterOf(c.get("auth")), "stt_seconds", Math.ceil(result.durationS)).catch((err: unknown) =>
      c.get("log").warn("usage not recorded", { error: err }),
    ),
  );
  c.header("X-STT-Provider", result.provider);
  return c.json(
    {
      object: "transcription" as const,
      text: result.text,
      model: form.model,
      language: result.language,
      duration_s: Math.round(result.durationS * 1000) / 1000,
    },
    200,
  );
};
