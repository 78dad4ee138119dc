import { createApp } from "./app";
import type { Bindings } from "./env";
import type { DeliveryMessage } from "./webhooks/dispatch";
import { queue, scheduled } from "./webhooks/worker-handlers";

export { Conversation } from "./durable-objects/conversation";
export { RateLimiter } from "./durable-objects/rate-limiter";
export { AvatarProcessing } from "./workflows/avatar-processing";

const app = createApp();

export default {
  fetch: app.fetch,
  queue,
  scheduled,
} satisfies ExportedHandler<Bindings, DeliveryMessage>;
