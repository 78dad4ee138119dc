/**
 * Names of Durable Objects (`namespace.getByName(name)`): one object per organisation or client
 * address for rate limits, one per conversation. Spelled in one place so a caller and the object
 * can never disagree about which instance holds what.
 */
export const doNames = {
  orgLimiter: (orgId: string) => `org:${orgId}`,
  addressLimiter: (address: string) => `ip:${address}`,
  conversation: (conversationId: string) => conversationId,
} as const;
