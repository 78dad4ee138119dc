/**
 * One structured log shape for the whole product: a JSON object per line, `level`, `message`, and
 * the fields that say where it came from (`request_id` in a request, `conversation_id` in a
 * conversation object). Workers Logs indexes JSON lines, so every field can be queried.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const SINKS: Record<LogLevel, (line: string) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** Errors are not enumerable; log what helps (name, message, stack) instead of `{}`. */
const serialise = (value: unknown): unknown => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value);

// A class, not a bag of closures: one is made per request, so it should cost one allocation.
export class Logger {
  constructor(private readonly base: LogFields = {}) {}

  debug(message: string, fields?: LogFields) {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: LogFields) {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: LogFields) {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: LogFields) {
    this.write("error", message, fields);
  }
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger {
    return new Logger({ ...this.base, ...fields });
  }

  private write(level: LogLevel, message: string, fields?: LogFields) {
    const line: LogFields = { level, message };
    // A field may not overwrite the line's own level or message: it is kept under a prefixed name.
    const add = (key: string, value: unknown) => {
      line[key === "level" || key === "message" ? `field_${key}` : key] = serialise(value);
    };
    for (const [key, value] of Object.entries(this.base)) add(key, value);
    if (fields) for (const [key, value] of Object.entries(fields)) add(key, value);
    SINKS[level](JSON.stringify(line));
  }
}

export const createLogger = (base: LogFields = {}) => new Logger(base);
