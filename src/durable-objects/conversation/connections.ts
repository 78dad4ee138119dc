import type { ClientPermission } from "../../db/schema";
import { newId } from "../../lib/ids";
import { CLIENT_TYPES, type ClientEventType } from "../conversation.protocol";

/**
 * The sockets of a conversation, each with an identity kept with it (`serializeAttachment`, so it
 * survives hibernation) and tags (so the runtime can find the sockets of one API key without
 * reading every attachment): its id (`sock_…`, told to the client in `session.ready`, so a tool
 * call or a voice stream can be addressed to one socket), which credential opened it, the API key
 * behind that credential, what it may send, and the org's rate limit when it opened (each turn it
 * starts counts against that limit, like a request). The Worker's route decides the credential
 * part after authenticating and hands it over with the upgrade; the object adds the rest.
 */

/** What the route knows about the caller, passed with the upgrade. */
export interface Caller {
  /** An API key (a backend) or the conversation's client secret (a browser). */
  credential: "api_key" | "client_secret";
  /** The API key used, or the one that minted the client secret; null for an older secret. */
  keyId: string | null;
  /** Requests per minute of the org when the socket opened. */
  orgLimit: number;
}

/** What the route passes with an upgrade: the caller, and what only the first socket needs. */
export interface Upgrade extends Caller {
  /** Conversations the org may hold at once (the first socket takes one of its places). */
  orgConcurrency: number;
}

export interface Connection extends Caller {
  id: string;
  connectedAt: number;
  /** The client frames this socket may send. */
  permissions: ClientEventType[];
}

/**
 * The header that carries the caller from the Worker's route to the object. Only the route reaches
 * the object, and it always sets this header itself (replacing any a client sent).
 */
export const CALLER_HEADER = "X-Avatar-Socket-Caller";

export const encodeCaller = (caller: Upgrade): string => JSON.stringify(caller);

/** The caller the route sent, or undefined when the header is missing or not one (never from a client). */
export function decodeCaller(header: string | null): Upgrade | undefined {
  if (header === null) return undefined;
  try {
    const value = JSON.parse(header) as Partial<Caller>;
    if ((value.credential !== "api_key" && value.credential !== "client_secret") || typeof value.orgLimit !== "number") return undefined;
    const concurrency = (value as Partial<Upgrade>).orgConcurrency;
    if (typeof concurrency !== "number") return undefined;
    return {
      credential: value.credential,
      keyId: typeof value.keyId === "string" ? value.keyId : null,
      orgLimit: value.orgLimit,
      orgConcurrency: concurrency,
    };
  } catch {
    return undefined;
  }
}

/** What a browser's client secret may send without being granted anything. */
const CLIENT_SECRET_DEFAULTS: readonly ClientEventType[] = [
  "input.text",
  "avatar.interrupt",
  "avatar.playback",
  "session.keep_alive",
  // The user's voice: a browser's microphone is what these are for.
  "input.audio.append",
  "input.audio.commit",
  "input.audio.clear",
  // Only for tools defined with `client: true`: checked per call when the result arrives.
  "tool.result",
];

/**
 * What a socket may send. An API key may send everything; a client secret, the defaults above plus
 * what the conversation's `client_permissions` grant (`avatar.speak` puts words in the avatar's
 * mouth and in its stored transcript; `session.end` ends it for everyone; `session.update` picks
 * the speech-to-text, which the org pays for).
 */
export function permissionsOf(caller: Caller, granted: readonly ClientPermission[]): ClientEventType[] {
  if (caller.credential === "api_key") return [...CLIENT_TYPES];
  return CLIENT_TYPES.filter((type) => CLIENT_SECRET_DEFAULTS.includes(type) || (granted as readonly string[]).includes(type));
}

export const keyTag = (keyId: string) => `key:${keyId}`;

/** A new connection: its identity and the tags to accept its socket with. */
export function newConnection(caller: Caller, granted: readonly ClientPermission[], now: number): { connection: Connection; tags: string[] } {
  const connection: Connection = {
    id: newId("sock"),
    credential: caller.credential,
    keyId: caller.keyId,
    orgLimit: caller.orgLimit,
    connectedAt: now,
    permissions: permissionsOf(caller, granted),
  };
  const tags = [connection.id, `credential:${caller.credential}`, ...(caller.keyId ? [keyTag(caller.keyId)] : [])];
  return { connection, tags };
}

/** A socket's identity; a socket without one (which no route opens) gets the least rights. */
export function connectionOf(ws: WebSocket): Connection {
  const stored = ws.deserializeAttachment() as Partial<Connection> | null;
  return {
    id: stored?.id ?? "sock_unknown",
    credential: stored?.credential ?? "client_secret",
    keyId: stored?.keyId ?? null,
    orgLimit: stored?.orgLimit ?? 0,
    connectedAt: stored?.connectedAt ?? 0,
    // Sockets opened before identities carried permissions: what their credential allowed then.
    permissions: stored?.permissions ?? (stored?.credential === "api_key" ? [...CLIENT_TYPES] : [...CLIENT_SECRET_DEFAULTS]),
  };
}

/** RFC 6455's "policy violation": the close code of a socket refused or closed for what it is allowed. */
export const POLICY_VIOLATION = 1008;

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing or closed.
  }
}

/**
 * The upgrade's answer, handing `client` to the runtime without permessage-deflate, which browsers
 * and `ws` offer on every socket. Deflated, every frame the object sends is compressed before it
 * leaves, on the object's thread: in a CPU profile of the bench's turns (perf on workerd) deflate
 * took about 15% of the process, the capacity probe held 30 conversations with it and 40 without,
 * and a sentence's first audio frame left 1.8 ms after its token with it, 0.1 ms without (p50).
 * Most of a conversation's bytes are base64 PCM; a client short of bandwidth is better served by
 * 16 kHz audio (a third fewer bytes) than by compressing 24 kHz.
 * The runtime negotiates from this response's `Sec-WebSocket-Extensions` (compatibility flag
 * `web_socket_compression`): a value that offers no permessage-deflate agrees to none, and is not
 * sent on. Its documentation names the empty value for this, which workerd 1.20260426 ignores.
 */
export function upgradeResponse(client: WebSocket): Response {
  return new Response(null, { status: 101, webSocket: client, headers: { "Sec-WebSocket-Extensions": "none" } });
}
