/** Wire format for every timestamp: ISO-8601 UTC with `Z`, second precision (`2026-01-01T00:00:00Z`). */
export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoSeconds(ms));

export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Whole seconds until `at`, at least 1: what `Retry-After` and a limit's reset are said in. */
export const secondsUntil = (at: number, now = Date.now()): number => Math.max(1, Math.ceil((at - now) / 1000));
