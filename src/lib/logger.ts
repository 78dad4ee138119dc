/**
 * One structured log shape for the whole product: a JSON object per line, `level`, `message`, and
 * the fields that say where it came from (`request_id` in a request, `conversation_id` in a
 * conversation object). Workers Logs indexes JSON lines, so every field can be queried.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

const SINKS: Record<LogLevel, (line: string) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** Errors are not enumerable; log what helps (name, message, stack) instead of `{}`. */
const serialise = (value: unknown): unknown =>
  value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;

export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    const line: LogFields = { level, message, ...base };
    if (fields) for (const [key, value] of Object.entries(fields)) line[key] = serialise(value);
    SINKS[level](JSON.stringify(line));
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    with: (fields) => createLogger({ ...base, ...fields }),
  };
}
