import { and, eq, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { events, type WebhookDisabledReason, type WebhookEndpointRow, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { readPrefix } from "../lib/bytes";
import { newId } from "../lib/ids";
import { unixSeconds } from "../lib/time";
import { signatureHeader } from "../lib/webhook-signature";
import { webhookUrlProblem } from "../lib/webhook-urls";
import { type DeliveryMessage, type DispatchDeps, dispatchEvents } from "./dispatch";
import { previousSecretActive, webhookEndpointJson } from "./endpoint-json";
import { buildEvent } from "./events";
import { DISABLE_AFTER_MS, parseRetryAfter, retryDelayS } from "./schedule";

/** What is kept of a receiver's answer. */
const RESPONSE_BODY_BYTES = 1024;

export interface DeliveryDeps extends DispatchDeps {
  timeoutMs: number;
  /** `WEBHOOKS_ALLOW_INSECURE_URLS`: the URL policy deliveries are checked against, as it is now. */
  allowInsecureUrls: boolean;
}

const hostOf = (raw: string): string | undefined => {
  try {
    return new URL(raw).host;
  } catch {
    return undefined;
  }
};

interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
  retryAfterS: number | undefined;
}

/** Secrets that sign now: the current one, and the previous one during a rotation's overlap. */
const signingSecrets = (endpoint: WebhookEndpointRow, now: number): string[] =>
  previousSecretActive(endpoint, now) ? [endpoint.secret, endpoint.previousSecret] : [endpoint.secret];

/**
 * One POST of the stored bytes, signed for this attempt. Redirects are not followed (a 3xx is a
 * failure, as Standard Webhooks asks); the whole attempt, body included, is bounded by the timeout.
 */
async function attempt(endpoint: WebhookEndpointRow, event: { id: string; payload: string }, timeoutMs: number): Promise<AttemptResult> {
  const started = Date.now();
  const timestamp = unixSeconds(started);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(endpoint.url, {
      method: "POST",
      body: event.payload,
      redirect: "manual",
      signal,
      headers: {
        "content-type": "application/json",
        "user-agent": "avatar-api-webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader(signingSecrets(endpoint, started), event.id, timestamp, event.payload),
      },
    });
    const responseBody = new TextDecoder().decode(await readPrefix(res.body, RESPONSE_BODY_BYTES));
    return {
      statusCode: res.status,
      latencyMs: Date.now() - started,
      responseBody,
      error: res.status >= 300 && res.status < 400 ? `redirect to ${res.headers.get("location") ?? "nowhere"} not followed` : null,
      retryAfterS: parseRetryAfter(res.headers.get("retry-after"), Date.now()),
    };
  } catch (err) {
    const timedOut = signal.aborted;
    return {
      statusCode: null,
      latencyMs: Date.now() - started,
      responseBody: null,
      error: timedOut ? `no answer within ${timeoutMs} ms` : `connection failed: ${err instanceof Error ? err.message : String(err)}`,
      retryAfterS: undefined,
    };
  }
}

/**
 * Disables an endpoint and records `webhook_endpoint.disabled` with it, then sends that event on.
 * Deliveries to one endpoint run side by side (a conversation's end and its transcript share a
 * batch): only the one whose update finds the endpoint still enabled records the event.
 */
async function disable(
  deps: DeliveryDeps,
  endpoint: WebhookEndpointRow,
  reason: WebhookDisabledReason,
  now: number,
  logRow: BatchItem<"sqlite">,
): Promise<void> {
  const disabled = { ...endpoint, disabledAt: now, disabledReason: reason, updatedAt: now };
  const event = buildEvent(endpoint.orgId, "webhook_endpoint.disabled", { webhook_endpoint: webhookEndpointJson(disabled), reason }, now);
  // One transaction: the update, then the event only if the update changed the row (`changes()`).
  const [updated] = await deps.db.batch([
    deps.db
      .update(webhookEndpoints)
      .set({ disabledAt: now, disabledReason: reason, updatedAt: now })
      .where(and(eq(webhookEndpoints.id, endpoint.id), isNull(webhookEndpoints.disabledAt)))
      .returning({ id: webhookEndpoints.id }),
    deps.db.insert(events).select(sql`SELECT ${event.id}, ${event.orgId}, ${event.type}, ${event.payload}, ${event.createdAt}, NULL WHERE changes() = 1`),
    logRow,
  ]);
  if (updated.length === 0) return;
  deps.log.warn("webhook endpoint disabled", { endpoint_id: endpoint.id, reason });
  await dispatchEvents(deps, [event], now);
}

/** Delivers one message: an attempt, its log row, and then ack, retry later, or disable. */
async function deliver(deps: DeliveryDeps, message: Message<DeliveryMessage>): Promise<void> {
  const { db } = deps;
  const { event_id: eventId, endpoint_id: endpointId, force } = message.body;
  const [endpoint, event] = await Promise.all([
    db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).get(),
    db.select({ id: events.id, type: events.type, payload: events.payload }).from(events).where(eq(events.id, eventId)).get(),
  ]);
  // A deleted endpoint or event, or one disabled since, has nothing left to deliver.
  if (!endpoint || !event || (endpoint.disabledAt !== null && !force)) {
    message.ack();
    return;
  }
  // The URL policy again, as it is now: the URL was checked when it was written, perhaps under a
  // laxer policy or setting. A refused URL gets no request; the attempt is logged (no status, the
  // reason) and the message acked, since every retry would be refused the same way until the URL
  // changes. The endpoint's failure clock and automatic disabling are left alone: the receiver has
  // not failed (we did not ask it), a refusal is our decision that a PATCH with a new `url` ends at
  // once, and disabling (as `failing` or `gone`) would misreport why and outlive a setting being
  // turned back. The deliveries log and the PATCH error say what to do.
  const refusal = webhookUrlProblem(endpoint.url, deps.allowInsecureUrls);
  const result: AttemptResult = refusal
    ? {
        statusCode: null,
        latencyMs: 0,
        responseBody: null,
        error: `refused by the URL policy: the URL ${refusal}. No request was made; PATCH the endpoint with a new url.`,
        retryAfterS: undefined,
      }
    : await attempt(endpoint, event, deps.timeoutMs);
  const now = Date.now();
  const success = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const log = (nextRetryAt: number | null) =>
    db.insert(webhookDeliveries).values({
      id: newId("wd"),
      orgId: endpoint.orgId,
      endpointId,
      eventId,
      eventType: event.type,
      attempt: message.attempts,
      statusCode: result.statusCode,
      success,
      latencyMs: result.latencyMs,
      responseBody: result.responseBody,
      error: result.error,
      nextRetryAt,
      createdAt: now,
    });

  if (refusal) {
    await log(null);
    deps.log.warn("webhook delivery refused by the URL policy", {
      event_id: eventId,
      endpoint_id: endpointId,
      org_id: endpoint.orgId,
      host: hostOf(endpoint.url),
      reason: refusal,
      attempt: message.attempts,
    });
    message.ack();
    return;
  }
  if (success) {
    if (endpoint.failingSince !== null) {
      await db.batch([log(null), db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpointId))]);
    } else await log(null);
    message.ack();
    return;
  }
  const active = endpoint.disabledAt === null;
  if (active && result.statusCode === 410) {
    await disable(deps, endpoint, "gone", now, log(null));
    message.ack();
    return;
  }
  const failingSince = endpoint.failingSince ?? now;
  if (active && now - failingSince >= DISABLE_AFTER_MS) {
    await disable(deps, endpoint, "failing", now, log(null));
    message.ack();
    return;
  }
  const delayS = retryDelayS(message.attempts, result.retryAfterS);
  const nextRetryAt = delayS === undefined ? null : now + delayS * 1000;
  const writes: [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] = [log(nextRetryAt)];
  if (active && endpoint.failingSince === null) writes.push(db.update(webhookEndpoints).set({ failingSince }).where(eq(webhookEndpoints.id, endpointId)));
  await db.batch(writes);
  if (delayS === undefined) message.ack();
  else message.retry({ delaySeconds: delayS });
}

/**
 * The queue consumer: a batch's deliveries run side by side. A delivery that throws (D1 down) is
 * left to the queue's own retry, so it is tried again rather than lost.
 */
export async function deliverBatch(deps: DeliveryDeps, batch: MessageBatch<DeliveryMessage>): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await deliver(deps, message);
      } catch (err) {
        deps.log.error("webhook delivery failed before an answer was recorded", {
          event_id: message.body.event_id,
          endpoint_id: message.body.endpoint_id,
          error: err,
        });
        message.retry({ delaySeconds: 30 });
      }
    }),
  );
}
