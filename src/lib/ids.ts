import { monotonicFactory } from "ulid";

// Monotonic within an isolate: ids minted in the same millisecond still sort in creation order,
// which is what makes "newest first, ties broken by id" a stable order.
const ulid = monotonicFactory();

export type IdPrefix = "av" | "per" | "conv" | "msg" | "turn" | "key" | "org" | "evt" | "req";

export const newId = (prefix: IdPrefix): string => `${prefix}_${ulid()}`;
