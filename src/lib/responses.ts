/**
 * Adds headers to any response a handler produced. Responses from `fetch()`, a Durable Object's
 * `stub.fetch()` and `Response.redirect()` have immutable headers, so they are rebuilt around the
 * same body stream (nothing is buffered). Workers' `new Response(body, response)` carries the
 * `webSocket` of a `101` over, so an upgrade survives the rebuild.
 */
export function withHeaders(res: Response, headers: Iterable<[string, string]>): Response {
  const entries = [...headers];
  try {
    for (const [name, value] of entries) res.headers.set(name, value);
    return res;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  const copy = new Response(res.body, res);
  for (const [name, value] of entries) copy.headers.set(name, value);
  return copy;
}

/** For responses that carry a secret: no cache, shared or private, may keep a copy. */
export const NO_STORE = { "Cache-Control": "no-store" } as const;
