/**
 * `Server-Timing` for one request: where its time went (auth, limit, the rest, total), so callers
 * and the benchmark can see it without our logs. In production Workers clocks only advance across
 * I/O, so the durations are those of the awaited calls, which is what matters here.
 */
export class ServerTiming {
  private readonly started = performance.now();
  private readonly entries: { name: string; dur: number; desc?: string | undefined }[] = [];
  /** Time in database reads outside the other measured steps (`db`). */
  private db = 0;
  private measuring = 0;

  /** Runs `work` and records its duration under `name` (`desc` may be decided from the result). */
  async measure<T>(name: string, work: () => Promise<T>, desc?: (result: T) => string | undefined): Promise<T> {
    const start = performance.now();
    this.measuring += 1;
    try {
      const result = await work();
      this.entries.push({ name, dur: performance.now() - start, desc: desc?.(result) });
      return result;
    } finally {
      this.measuring -= 1;
    }
  }

  /** A database call's duration; calls made inside another measured step count as that step. */
  addDb(dur: number): void {
    if (this.measuring === 0) this.db += dur;
  }

  record(name: string, dur: number, desc?: string): void {
    this.entries.push({ name, dur, desc });
  }

  header(): string {
    const total = performance.now() - this.started;
    const measured = this.db > 0 ? [...this.entries, { name: "db", dur: this.db }] : this.entries;
    const spent = measured.reduce((sum, e) => sum + e.dur, 0);
    const parts = [...measured, { name: "app", dur: Math.max(0, total - spent) }, { name: "total", dur: total }];
    return parts.map((e) => `${e.name};dur=${e.dur.toFixed(1)}${"desc" in e && e.desc ? `;desc="${e.desc}"` : ""}`).join(", ");
  }
}
