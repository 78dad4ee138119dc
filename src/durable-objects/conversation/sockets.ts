import type { ClientPermission } from "../../db/schema";
import type { ClientEventType } from "../conversation.protocol";

/**
 * Who is on the other end of a socket, kept with the socket (`serializeAttachment`, so it survives
 * hibernation): which credential opened it, the API key behind that credential, and the org's rate
 * limit when it opened (each turn it starts counts against that limit, like a request). The
 * Worker's route decides all of it after authenticating and hands it over with the upgrade.
 */
export interface SocketIdentity {
  /** An API key (a backend) or the conversation's client secret (a browser). */
  credential: "api_key" | "client_secret";
  /** The API key used, or the one that minted the client secret; null for an older secret. */
  keyId: string | null;
  /** Requests per minute of the org when the socket opened. */
  orgLimit: number;
  connectedAt: number;
}

/**
 * The header that carries a socket's identity from the Worker's route to the object. Only the route
 * reaches the object, and it always sets this header itself (replacing any a client sent).
 */
export const SOCKET_IDENTITY_HEADER = "X-Avatar-Socket-Identity";

export const encodeIdentity = (identity: Omit<SocketIdentity, "connectedAt">): string => JSON.stringify(identity);

/** The identity the route sent, or undefined when the header is missing or not one (never from a client). */
export function decodeIdentity(header: string | null, connectedAt: number): SocketIdentity | undefined {
  if (header === null) return undefined;
  try {
    const value = JSON.parse(header) as Partial<SocketIdentity>;
    if ((value.credential !== "api_key" && value.credential !== "client_secret") || typeof value.orgLimit !== "number") return undefined;
    return { credential: value.credential, keyId: typeof value.keyId === "string" ? value.keyId : null, orgLimit: value.orgLimit, connectedAt };
  } catch {
    return undefined;
  }
}

/** A socket's identity; a socket without one (which no route opens) gets the least rights. */
export function identityOf(ws: WebSocket): SocketIdentity {
  const stored = ws.deserializeAttachment() as Partial<SocketIdentity> | null;
  return {
    credential: stored?.credential ?? "client_secret",
    keyId: stored?.keyId ?? null,
    orgLimit: stored?.orgLimit ?? 0,
    connectedAt: stored?.connectedAt ?? 0,
  };
}

/** What a browser's client secret may send without being granted anything. */
const CLIENT_SECRET_DEFAULTS: readonly ClientEventType[] = ["input.text", "avatar.interrupt", "session.keep_alive"];

/**
 * Whether a socket may send a frame of `type`. An API key may send everything; a client secret, the
 * defaults above plus what the conversation's `client_permissions` grant (`avatar.speak` puts words
 * in the avatar's mouth and in its stored transcript; `session.end` ends it for everyone).
 */
export function mayClientSend(identity: SocketIdentity, type: ClientEventType, granted: readonly ClientPermission[]): boolean {
  if (identity.credential === "api_key") return true;
  return CLIENT_SECRET_DEFAULTS.includes(type) || (granted as readonly string[]).includes(type);
}
