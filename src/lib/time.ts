/** Wire format for every timestamp: ISO-8601 UTC with `Z`, second precision (`2026-01-01T00:00:00Z`). */
export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoSeconds(ms));

export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Whole seconds until `at`, at least 1: what `Retry-After` and a limit's reset are said in. */
export const secondsUntil = (at: number, now = Date.now()): number => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * Resolves in a later task of the event loop, `ms` from now at the soonest. In a Durable Object a
 * task's storage writes commit when it ends, and the output gate holds what the object sends
 * (socket frames, outgoing requests) until they are durable: awaiting this lets what was sent go
 * before more is written.
 */
export const nextTask = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
