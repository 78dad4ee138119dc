/**
 * Names of Durable Objects (`namespace.getByName(name)`): one object per organisation or client
 * address for rate limits (and per address for failed authentications), one per conversation.
 * Spelled in one place so a caller and the object can never disagree about which instance holds what.
 */
export const doNames = {
  orgLimiter: (orgId: string) => `org:${orgId}`,
  addressLimiter: (address: string) => `ip:${address}`,
  /** Failed authentications of one client address (its own count, apart from its requests). */
  authFailures: (address: string) => `auth-failures:${address}`,
  conversation: (conversationId: string) => conversationId,
} as const;
