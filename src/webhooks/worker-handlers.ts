import { getConfig } from "../config";
import { createDb } from "../db/client";
import { sweepIdempotencyKeys } from "../db/idempotency";
import type { Bindings } from "../env";
import { createLogger } from "../lib/logger";
import { type DeliveryDeps, deliverBatch } from "./delivery";
import type { DeliveryMessage } from "./dispatch";
import { sweepUndispatched } from "./dispatch";

const log = createLogger({ component: "webhooks" });

const deps = (env: Bindings): DeliveryDeps => {
  const { webhooks } = getConfig(env);
  return { db: createDb(env.DB), queue: env.WEBHOOKS, log, timeoutMs: webhooks.timeoutMs, allowInsecureUrls: webhooks.allowInsecureUrls };
};

/** The Worker's queue consumer: webhook deliveries. */
export const queue: ExportedHandlerQueueHandler<Bindings, DeliveryMessage> = (batch, env) => deliverBatch(deps(env), batch);

/** The Worker's cron trigger: events an interrupted dispatch left behind go out; idempotency keys past their day go. */
export const scheduled: ExportedHandlerScheduledHandler<Bindings> = async (controller, env) => {
  const d = deps(env);
  await sweepUndispatched(d, controller.scheduledTime);
  await sweepIdempotencyKeys(d.db, controller.scheduledTime);
};
