import type { WebhookEndpointRow } from "../db/schema";
import { isoOrNull, isoSeconds } from "../lib/time";
import { parseEnabledEvents } from "./events";

/** The previous secret still signs: a rotation's 24-hour overlap has not ended. */
export const previousSecretActive = (
  row: WebhookEndpointRow,
  now = Date.now(),
): row is WebhookEndpointRow & { previousSecret: string; previousSecretExpiresAt: number } =>
  row.previousSecret !== null && row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;

/** An endpoint on the wire (routes and the `webhook_endpoint.disabled` event alike); never its secrets. */
export const webhookEndpointJson = (row: WebhookEndpointRow) => ({
  id: row.id,
  object: "webhook_endpoint" as const,
  url: row.url,
  description: row.description,
  enabled_events: parseEnabledEvents(row.enabledEvents),
  disabled: row.disabledAt !== null,
  disabled_at: isoOrNull(row.disabledAt),
  disabled_reason: row.disabledReason,
  secret_rotation_ends_at: previousSecretActive(row) ? isoSeconds(row.previousSecretExpiresAt) : null,
  created_at: isoSeconds(row.createdAt),
  updated_at: isoSeconds(row.updatedAt),
});
