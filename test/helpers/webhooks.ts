import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { api, KEYS } from "./http";

/** One request a fake receiver got. */
export interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: RequestInit["redirect"];
  at: number;
}

/**
 * A function, not a Response: deliveries run in the queue consumer's request, and a Response made
 * in the test's own request cannot be used (or cloned) from another one.
 */
export type Answer = (() => Response | Promise<Response>) | "hang";

/** A 200, made when the request arrives (in the consumer's own request). */
export const ok = () => new Response("ok");

/**
 * Fake webhook receivers: outbound fetches to `https://<name>.receiver.test/…` are answered here
 * (everything else goes on as usual). Each receiver answers from its script in order, then repeats
 * the last answer; `"hang"` never answers (until the request is aborted).
 */
export class Receivers {
  private readonly routes = new Map<string, { script: Answer[]; requests: Received[] }>();
  private readonly spy;

  constructor() {
    const original = globalThis.fetch;
    this.spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const route = this.routes.get(new URL(request.url).host);
      if (!route) return original(input, init);
      const received: Received = {
        url: request.url,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
        redirect: init?.redirect,
        at: Date.now(),
      };
      route.requests.push(received);
      const answer = route.script[Math.min(route.requests.length - 1, route.script.length - 1)] ?? ok;
      if (answer === "hang") {
        return new Promise<Response>((_, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason ?? new Error("aborted")));
        });
      }
      return answer();
    });
  }

  /** A receiver with its own host; answers 200 unless given a script. */
  add(name: string, ...script: Answer[]): { url: string; requests: Received[] } {
    const host = `${name}.receiver.test`;
    const route = { script: script.length > 0 ? script : [ok], requests: [] as Received[] };
    this.routes.set(host, route);
    return { url: `https://${host}/hook`, requests: route.requests };
  }

  restore(): void {
    this.spy.mockRestore();
  }
}

let counter = 0;
/** A unique receiver name per call (storage is shared within a test file). */
export const uniqueName = (prefix: string) => `${prefix}${Date.now().toString(36)}${++counter}`;

export interface CreatedEndpoint {
  id: string;
  secret: string;
  url: string;
  enabled_events: string[];
  [key: string]: unknown;
}

export async function createEndpoint(body: Record<string, unknown>, key: string = KEYS.demo): Promise<CreatedEndpoint> {
  const res = await api("/v1/webhook-endpoints", {
    method: "POST",
    key,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ enabled_events: ["*"], ...body }),
  });
  if (res.status !== 201) throw new Error(`endpoint not created: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedEndpoint;
}

/** Polls until `check` holds (deliveries arrive through the simulated queue, asynchronously). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rows of D1's events table for an org, oldest first. */
export async function storedEvents(orgId: string, type?: string) {
  const stmt = type
    ? env.DB.prepare("SELECT * FROM events WHERE org_id = ? AND type = ? ORDER BY created_at, id").bind(orgId, type)
    : env.DB.prepare("SELECT * FROM events WHERE org_id = ? ORDER BY created_at, id").bind(orgId);
  return (await stmt.all<{ id: string; type: string; payload: string; dispatched_at: number | null; created_at: number }>()).results;
}

/** A delivery attempt as `GET /v1/webhook-endpoints/{id}/deliveries` lists it. */
export interface Delivery {
  id: string;
  object: "webhook_delivery";
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  success: boolean;
  status_code: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
  next_retry_at: string | null;
  created_at: string;
}
