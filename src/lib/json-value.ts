/**
 * A JSON value, typed so that it can cross Durable Object RPC (which `unknown` cannot). Nested
 * values are `object`, not this type again: the RPC types map every level of a recursive type and
 * give up ("excessively deep").
 */
export type JsonValue = null | boolean | number | string | object;
export type JsonObject = { [key: string]: JsonValue };
