// @ts-check
// Command-line handling shared by the operator commands: a mistake in the command line is one
// clear line on stderr and exit code 1, before anything is read or written.
import { parseArgs } from "node:util";

/** A mistake in the command line: printed as is, exit code 1, nothing run. */
export class UsageError extends Error {}

/**
 * The command line's options, or exit 1 with the mistake and the usage line.
 * @template {import("node:util").ParseArgsConfig["options"]} T
 * @param {T} options
 * @param {string} usage
 */
export function parseOptions(options, usage) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node:util's own messages ("Unknown option '--x'") say what is wrong; the usage says what is right.
    return refuse(err instanceof Error ? err.message : String(err), usage);
  }
}

/**
 * @param {string} message
 * @param {string} usage
 * @returns {never}
 */
export function refuse(message, usage) {
  console.error(`${message}\nusage: ${usage}`);
  process.exit(1);
}
