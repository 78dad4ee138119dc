import { and, desc, eq, getTableColumns, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type WebhookEndpointRow, webhookEndpoints } from "../db/schema";
import { ApiError, notFound, quote } from "../lib/errors";
import { newId } from "../lib/ids";
import { afterCursor, checkCursor, ownedBy } from "../lib/pagination";
import { newWebhookSecret } from "../lib/webhook-signature";
import { normalisedWebhookUrl, WEBHOOK_URL_MAX_CHARS, webhookUrlProblem } from "../lib/webhook-urls";
import { type DispatchDeps, enqueueDeliveries } from "../webhooks/dispatch";
import { buildEvent, insertEvents, type StoredEvent } from "../webhooks/events";

/** After a rotation the old secret keeps signing, beside the new one, for this long. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/**
 * Endpoints one org may have, as the payment APIs allow (Stripe: 16). Each is a request per event,
 * so the cap bounds what one event costs to fan out; deleting an endpoint frees its slot.
 */
export const MAX_ENDPOINTS_PER_ORG = 16;

export interface EndpointFields {
  url: string;
  enabled_events: string[];
  description?: string | null | undefined;
}

/** The URL to store for what the caller sent: checked against the policy, then normalised. */
function acceptedUrl(raw: string, allowInsecure: boolean): string {
  const problem = webhookUrlProblem(raw, allowInsecure);
  if (problem) throw new ApiError("parameter.invalid", `'url' ${problem}.`, { param: "url" });
  const url = normalisedWebhookUrl(raw);
  if (url.length > WEBHOOK_URL_MAX_CHARS) {
    throw new ApiError("parameter.invalid", `'url' must be at most ${WEBHOOK_URL_MAX_CHARS} characters once normalised (percent-encoded).`, { param: "url" });
  }
  return url;
}

/** `["*"]` stands alone; a list names each type once. */
const normaliseEvents = (list: string[]): string[] => (list.includes("*") ? ["*"] : [...new Set(list)]);

export const getEndpoint = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .get();

export async function requireEndpoint(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const row = await getEndpoint(db, orgId, id);
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

export async function listEndpoints(db: Db, orgId: string, page: { limit: number; startingAfter?: string | undefined }) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.orgId, orgId),
        page.startingAfter === undefined ? undefined : afterCursor("webhook_endpoints", page.startingAfter, ownedBy(orgId)),
      ),
    )
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (id) => (await getEndpoint(db, orgId, id)) !== undefined);
}

/**
 * Stores a new endpoint, unless the org already has `MAX_ENDPOINTS_PER_ORG`. The count and the
 * insert are one statement (`INSERT … SELECT … WHERE (SELECT count(*) …) < 16`), and D1 runs one
 * statement at a time, so concurrent creates cannot together pass the cap as a read-then-insert
 * would: exactly 16 of 20 simultaneous creates succeed.
 */
export async function createEndpoint(db: Db, orgId: string, fields: EndpointFields, allowInsecure: boolean): Promise<WebhookEndpointRow> {
  const url = acceptedUrl(fields.url, allowInsecure);
  const now = Date.now();
  // Every column (a new one does not compile until it is given here), selected in the table's
  // order, which is the order drizzle lists them in the INSERT.
  const values: Record<keyof WebhookEndpointRow, string | number | null> = {
    id: newId("we"),
    orgId,
    url,
    description: fields.description ?? null,
    enabledEvents: JSON.stringify(normaliseEvents(fields.enabled_events)),
    secret: newWebhookSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    disabledAt: null,
    disabledReason: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  const selected = sql.join(
    Object.keys(getTableColumns(webhookEndpoints)).map((key) => sql`${values[key as keyof WebhookEndpointRow]}`),
    sql`, `,
  );
  const [row] = await db
    .insert(webhookEndpoints)
    .select(sql`SELECT ${selected} WHERE (SELECT count(*) FROM webhook_endpoints WHERE org_id = ${orgId}) < ${MAX_ENDPOINTS_PER_ORG}`)
    .returning();
  if (!row) {
    throw new ApiError(
      "webhook_endpoint.limit_reached",
      `An organisation can have at most ${MAX_ENDPOINTS_PER_ORG} webhook endpoints, and yours has reached that. Delete one you no longer need (DELETE /v1/webhook-endpoints/{id}) to free a slot; one endpoint can receive several event types.`,
    );
  }
  return row;
}

export interface EndpointPatch {
  url?: string | undefined;
  enabled_events?: string[] | undefined;
  description?: string | null | undefined;
  disabled?: boolean | undefined;
}

/**
 * Changes what the caller sent. `disabled: false` enables the endpoint again whatever disabled it,
 * and its failure clock starts over; `disabled: true` is a manual disabling.
 *
 * The URL the endpoint will have afterwards is checked against the policy as it is now: a new
 * `url` always; the stored one whenever the endpoint is enabled after the PATCH, since it may have
 * been stored under a laxer policy (or setting) and deliveries would now be refused. A PATCH that
 * leaves the endpoint disabled (`{"disabled": true}`, or any change to an endpoint already disabled
 * that does not enable it) does not need the stored URL to pass, so a user can always stop
 * deliveries and tidy a disabled endpoint; enabling it again needs a URL the policy accepts.
 */
export async function updateEndpoint(db: Db, orgId: string, id: string, patch: EndpointPatch, allowInsecure: boolean): Promise<WebhookEndpointRow> {
  const current = await requireEndpoint(db, orgId, id);
  const url = patch.url === undefined ? undefined : acceptedUrl(patch.url, allowInsecure);
  const disabledAfter = patch.disabled ?? current.disabledAt !== null;
  if (url === undefined && !disabledAfter) {
    const problem = webhookUrlProblem(current.url, allowInsecure);
    if (problem) {
      throw new ApiError(
        "parameter.invalid",
        `The stored url ${quote(current.url)} no longer meets the webhook URL policy: it ${problem}. Send a new 'url' with this change, or {"disabled": true} to stop deliveries.`,
        { param: "url" },
      );
    }
  }
  const now = Date.now();
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: now };
  if (url !== undefined) changes.url = url;
  if (patch.enabled_events !== undefined) changes.enabledEvents = JSON.stringify(normaliseEvents(patch.enabled_events));
  if (patch.description !== undefined) changes.description = patch.description;
  if (patch.disabled === true && current.disabledAt === null) Object.assign(changes, { disabledAt: now, disabledReason: "manual" });
  if (patch.disabled === false) Object.assign(changes, { disabledAt: null, disabledReason: null, failingSince: null });
  const [row] = await db
    .update(webhookEndpoints)
    .set(changes)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

export async function deleteEndpoint(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const [row] = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

/**
 * A new secret; the current one becomes the previous one and keeps signing for 24 hours. Rotating
 * again within the overlap ends the oldest secret's overlap at once (two entries at most).
 */
export async function rotateSecret(db: Db, orgId: string, id: string): Promise<WebhookEndpointRow> {
  const current = await requireEndpoint(db, orgId, id);
  const now = Date.now();
  const [row] = await db
    .update(webhookEndpoints)
    .set({ secret: newWebhookSecret(), previousSecret: current.secret, previousSecretExpiresAt: now + ROTATION_OVERLAP_MS, updatedAt: now })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)))
    .returning();
  if (!row) throw notFound("webhook_endpoint", id);
  return row;
}

/**
 * A `webhook.test` event, stored and listed like any other, sent to this endpoint only (whatever
 * it subscribes to, and even while it is disabled, so a receiver can be checked before enabling it).
 */
export async function sendTestEvent(deps: DispatchDeps, orgId: string, id: string): Promise<StoredEvent> {
  const endpoint = await requireEndpoint(deps.db, orgId, id);
  const event = buildEvent(orgId, "webhook.test", { webhook_endpoint_id: endpoint.id, message: "A test event from the avatar API." });
  // Stored as dispatched: it goes to this endpoint only, from here, and the sweep must not send it to
  // the org's other endpoints. A failed enqueue fails the request, which the caller can repeat.
  await insertEvents(deps.db, [event], event.createdAt);
  await enqueueDeliveries(deps.queue, [{ event_id: event.id, endpoint_id: endpoint.id, force: true }]);
  return event;
}
