import { z } from "@hono/zod-openapi";

// C0 and C1 control characters and DEL. Multi-line text keeps tab, line feed and carriage return.
export const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F-\u009F]/;
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// In a `u` regex a well-formed surrogate pair is one code point; only a lone half matches \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A text field a person wrote: trimmed, bounded, and refused (`parameter.invalid`) when it holds
 * control characters (NUL included) or invalid Unicode, which no name, prompt or message needs and
 * which break logs, terminals and downstream providers.
 */
export const textField = (opts: { min?: number; max: number; multiline?: boolean }) =>
  z
    .string()
    .trim()
    .min(opts.min ?? 1)
    .max(opts.max)
    .refine((s) => !(opts.multiline ? CONTROL_MULTILINE : CONTROL_CHARACTERS).test(s), {
      error: opts.multiline ? "must not contain control characters other than tabs and line breaks" : "must not contain control characters",
    })
    .refine((s) => !LONE_SURROGATE.test(s), { error: "must be valid Unicode (it contains a lone surrogate)" });
