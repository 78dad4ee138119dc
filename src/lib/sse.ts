/** Server-sent events framing (the `text/event-stream` format), for the streams this API sends. */
const encoder = new TextEncoder();

/**
 * One event: optional `id:` (what a client sends back as Last-Event-ID) and `event:` name, then the
 * data (JSON-encoded unless already a string).
 */
export const sseEvent = (data: unknown, event?: string, id?: string | number): Uint8Array =>
  encoder.encode(
    `${id === undefined ? "" : `id: ${id}\n`}${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`,
  );

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
} as const;
