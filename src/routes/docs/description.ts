/**
 * The OpenAPI document's description: the conventions of the contract and the choices made where
 * the contract was silent. Kept beside the README's "Contract" section, which says the same.
 */
export const API_DESCRIPTION = `Edge API for real-time talking avatars.

## Conventions
- Bodies are JSON (\`application/json\`); field names are snake_case; timestamps are ISO-8601 UTC with
  second precision (\`2026-01-01T00:00:00Z\`); every resource has \`object\`.
- Every response carries \`X-Request-Id: req_<ULID>\`; every error body is the \`ApiErrorEnvelope\`
  \`{"error":{"type","code","message","param"?,"request_id"}}\`. \`type\` fixes the status; \`code\` is
  stable and each operation lists the codes it can return (\`x-error-codes\` on each response).
- Lists take \`limit\` (1..100, default 20) and \`starting_after\`, answer
  \`{"object":"list","data","has_more","next_cursor"}\`, newest first, ties broken by id.
- Unknown query parameters and body fields are \`400 parameter.unknown\`; a query parameter given twice
  is \`400 parameter.invalid\`. Text fields refuse control characters and invalid Unicode.

## Rate limits
Per organisation per minute (free 10, creator 30, pro 60, enterprise custom); public endpoints per
client address; \`/health\` is not limited. Responses to limited requests carry \`X-RateLimit-Limit\`,
\`X-RateLimit-Remaining\`, \`X-RateLimit-Reset\` (Unix seconds) and the IETF draft \`RateLimit-Policy\` /
\`RateLimit\`. Over the limit: \`429 rate_limit.exceeded\` with \`Retry-After\`. Counting is exact per org (never
over the limit in any window) through leases each location spends locally; a revoked key or a tier
change reaches every location within one lease lifetime (\`LIMITER_LEASE_MS\`, 10 s; at once where the
key was revoked). Without the org's limiter and without a lease, requests are refused
(\`503 rate_limit.unavailable\`, \`Retry-After: 1\`). Every response carries \`Server-Timing\` (\`auth\`,
\`limit\` with \`desc="lease"\` or \`"ask"\`, \`db\` for the route's reads, \`app\`, \`total\`).

## Choices where the written contract is silent
- Request bodies: at most 1 MiB (\`413 request.too_large\`); a body on POST, PUT, PATCH or DELETE must be
  JSON whether or not the route reads one (\`400 request.unsupported_media_type\`); a body on GET or HEAD
  is ignored (RFC 9110 gives it no meaning).
- Model files are downloaded from \`/v1/avatars/{avatar_id}/model/file\` with the signed URL \`/model\`
  returns. \`Range\` follows RFC 9110: one range is answered \`206\`; a malformed or multi-range header is
  ignored (\`200\`, whole file); an unsatisfiable one is \`416\` with \`Content-Range: bytes */<size>\`.
- \`POST /v1/api-keys\`: \`mode\` is optional and defaults to \`live\`.
- An unreachable identity-provider JWKS is \`503 jwt.jwks_unavailable\`; a secret or setting missing from
  the deployment is \`503 config.secret_missing\` / \`config.invalid\`.
- Personas: the lists are public, and with an API key include your own personas. Presets are read-only
  (\`403 persona.read_only\`). Unknown \`model\` / \`default_voice_id\` are \`422\`; an avatar you cannot see
  is \`404 avatar.not_found\` with \`param: "default_avatar_id"\`.
- AI gateway: OpenAI's chat-completions request and response for any provider; \`model\` is
  \`<provider>:<model>\`. Upstream failures are typed: \`503 provider.timeout\` (no answer within the
  first-byte timeout, or a stream gone quiet), \`429 provider.rate_limited\` (with the upstream's
  \`Retry-After\`), \`400 provider.rejected\` (the provider refused the request itself), \`503
  provider.unavailable\` (anything else); a failure after a stream began ends it with \`event: error\` and
  \`data: [DONE]\`.
- Text to speech: \`format\` defaults to \`wav\` (PCM16 mono 24 kHz); a format the voice's provider cannot
  give is \`422 format.unsupported\`. Audio streams as it is made; nothing is sent before the first audio,
  so a silent provider is \`503 provider.timeout\`, and a later stall cuts the stream. With
  \`timestamps: true\` the answer is NDJSON lines \`{audio, alignment}\` with timings relative to each line.
- Conversations: the avatar must be session-ready (a look, or a character without looks, \`ready\` and
  active); a model or voice without credentials is \`503 provider.not_configured\` at creation. Added field
  \`output_audio_format\` (\`pcm_24000\` default, \`pcm_16000\`). One turn at a time: a new one interrupts
  the one in progress. Every turn ends with \`agent.response.done\`, \`avatar.interrupted\` or \`error\`,
  then \`metrics.turn\`; every event a client frame caused carries its \`event_id\` as \`reply_to\`. The
  exact frame \`{"type":"session.keep_alive"}\` is answered \`{"type":"session.keep_alive.ack"}\` by the
  runtime (no \`event_id\`/\`seq\`/\`ts\`: liveness, not an event). On a resume \`session.ready\` carries
  \`replay: {after_seq, events, complete}\`. Over 20 frames a second, frames are dropped for the rest of
  that second with one \`rate_limit.exceeded\`. The protocol is this document's \`x-websocket\` extension.
  \`GET /v1/conversations/{conversation_id}/messages\` (added) pages through every message, newest first.
- Webhooks (Standard Webhooks): each event is POSTed with \`webhook-id\` (the event id, the same on every
  retry), \`webhook-timestamp\` and \`webhook-signature\` (\`v1,\` + base64 HMAC-SHA256 of
  \`id.timestamp.body\`, keyed by the base64-decoded secret after \`whsec_\`; two entries for 24 hours
  after a rotation). 15 s per attempt, redirects not followed; retried after 5 s, 5 min, 30 min, 2 h, 5 h,
  10 h, 14 h, 20 h, 24 h (±10%, or \`Retry-After\` when longer); \`410\` disables the endpoint, so do
  three days of failures (\`webhook_endpoint.disabled\`). Events are stored with what caused them and
  delivered at least once: dedupe on \`webhook-id\`. Endpoint ids are \`we_…\`, attempts \`wd_…\`. URLs
  must be https: and public (\`400 parameter.invalid\`, \`param: "url"\`). Each event type's body is a
  variant of \`Event\`; a transcript over 16 KiB is sent as \`transcript_url\`.
- Browsers: CORS preflights are answered \`204\` before authentication; public routes allow any origin,
  authenticated routes the configured origins (any by default, never with credentials). Responses that
  carry a secret are \`Cache-Control: no-store\`.`;
