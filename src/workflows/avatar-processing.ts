import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { createDb } from "../db/client";
import type { Bindings } from "../env";
import { createLogger } from "../lib/logger";
import { type Outcome, type ProcessingParams, recordOutcome, removeFiles, UPLOAD_EVENT, type UploadEvent, uploadKey } from "../services/avatar-uploads";
import { dispatchEvents } from "../webhooks/dispatch";
import { convertUpload } from "./avatar-conversion";

/**
 * One custom avatar's processing, as a durable job (Cloudflare Workflows; its instance id is the
 * avatar's id): wait for the upload (`PUT` on the signed URL sends the event), convert it, record the
 * outcome once. Each step is retried on its own and is idempotent: convert writes fixed keys,
 * record writes only while the avatar is still `processing` and stores its event under an id fixed
 * at creation. A step's result is kept by the platform, so a retry of `record` does not convert again.
 */

/** An upload that began just before its URL expired still has this long to finish. */
export const UPLOAD_GRACE_MS = 10 * 60 * 1000;

/** Bounded: a file whose conversion runs away is failed, not waited for (the header checks make that rare). */
const CONVERT: WorkflowStepConfig = { retries: { limit: 2, delay: "5 seconds", backoff: "exponential" }, timeout: "2 minutes" };
const RECORD: WorkflowStepConfig = { retries: { limit: 10, delay: "2 seconds", backoff: "exponential" }, timeout: "30 seconds" };

export class AvatarProcessing extends WorkflowEntrypoint<Bindings, ProcessingParams> {
  override async run(event: Readonly<WorkflowEvent<ProcessingParams>>, step: WorkflowStep): Promise<Outcome["status"]> {
    const params = event.payload;
    const outcome = (await this.uploaded(params, step)) ? await this.convert(params, step) : UPLOAD_MISSING;
    return step.do("record", RECORD, async () => {
      const db = createDb(this.env.DB);
      const { exists, event } = await recordOutcome(db, params, outcome);
      if (!exists) await removeFiles(this.env.MODELS, params.avatarId);
      else await this.env.MODELS.delete(uploadKey(params.avatarId));
      if (event) await dispatchEvents({ db, queue: this.env.WEBHOOKS, log: createLogger({ component: "avatar-processing" }) }, [event]);
      return outcome.status;
    });
  }

  /** Whether the file arrived before its URL expired (and the grace after it). */
  private async uploaded(params: ProcessingParams, step: WorkflowStep): Promise<boolean> {
    try {
      await step.waitForEvent<UploadEvent>("upload", { type: UPLOAD_EVENT, timeout: params.uploadTtlMs + UPLOAD_GRACE_MS });
      return true;
    } catch {
      return false;
    }
  }

  private async convert(params: ProcessingParams, step: WorkflowStep): Promise<Outcome> {
    try {
      return await step.do("convert", CONVERT, () => convertUpload(this.env.MODELS, params));
    } catch (err) {
      createLogger({ component: "avatar-processing" }).error("avatar conversion failed after its retries", { avatar_id: params.avatarId, error: err });
      return PROCESSING_FAILED;
    }
  }
}

const UPLOAD_MISSING: Outcome = {
  status: "failed",
  code: "avatar.upload_missing",
  message: "No file was uploaded before the upload URL expired; create the avatar again for a new URL.",
};
const PROCESSING_FAILED: Outcome = {
  status: "failed",
  code: "avatar.processing_failed",
  message: "Processing could not finish (it ran out of time or retries); create the avatar again and upload the file.",
};
