/**
 * When a failed delivery is tried again: Standard Webhooks' example schedule after the first
 * attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about 75.5 hours),
 * each delay spread by ±10% so that an outage's backlog does not return at one instant.
 */
export const RETRY_DELAYS_S = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400] as const;

/** A queue message cannot be delayed longer than a day. */
export const MAX_DELAY_S = 86_400;

/** An endpoint whose every attempt has failed for this long is disabled. */
export const DISABLE_AFTER_MS = 3 * 86_400_000;

/**
 * Seconds before the attempt after `attempt` (1 = the first), or undefined when the schedule is
 * over. A receiver's `Retry-After` (seconds) is honoured when it asks for longer.
 */
export function retryDelayS(attempt: number, retryAfterS: number | undefined, random = Math.random): number | undefined {
  const base = RETRY_DELAYS_S[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.min(MAX_DELAY_S, Math.max(jittered, retryAfterS ?? 0));
}

/** `Retry-After` as seconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
