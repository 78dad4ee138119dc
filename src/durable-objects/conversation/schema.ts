/**
 * The conversation object's own SQLite schema, by version. Each object records the version it is
 * at and applies the migrations after it, in order, in one transaction, when it starts: an object
 * created by an older deployment is brought up to date the first time a newer one wakes it. A
 * migration is never edited once deployed; a change is a new one at the end of the list.
 */

const MIGRATIONS: readonly ((sql: SqlStorage) => void)[] = [
  // 1: settings and state (meta), the transcript, and the event log. Objects from before versions
  // existed already have these tables, hence IF NOT EXISTS.
  (sql) => {
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, role TEXT NOT NULL, content TEXT NOT NULL, turn_id TEXT NOT NULL, interrupted INTEGER NOT NULL, created_at INTEGER NOT NULL)",
    );
    // `frame` is the exact text every socket received, replayed byte for byte on resume.
    sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, frame TEXT NOT NULL)");
  },
  // 2: the webhook outbox as rows (it was one JSON array in meta, read and rewritten whole).
  (sql) => {
    sql.exec("CREATE TABLE outbox (id TEXT PRIMARY KEY, event TEXT NOT NULL)");
    const old = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'outbox'").toArray()[0];
    if (old) {
      for (const event of JSON.parse(old.value) as { id: string }[])
        sql.exec("INSERT OR IGNORE INTO outbox (id, event) VALUES (?, ?)", event.id, JSON.stringify(event));
      sql.exec("DELETE FROM meta WHERE key = 'outbox'");
    }
  },
  // 3: tool calls in the transcript. `tool` is JSON: `{tool_calls}` on an assistant message that
  // called tools, `{tool_call_id, name, is_error}` on a tool result; null on every other message.
  (sql) => {
    sql.exec("ALTER TABLE messages ADD COLUMN tool TEXT");
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the object's storage to `SCHEMA_VERSION`. */
export function migrate(storage: DurableObjectStorage): void {
  const { sql } = storage;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const version = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
  if (version >= MIGRATIONS.length) return;
  storage.transactionSync(() => {
    for (let v = version; v < MIGRATIONS.length; v++) MIGRATIONS[v]?.(sql);
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", MIGRATIONS.length);
  });
}
