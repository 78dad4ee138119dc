import WebSocket from "ws";

/** A server event as a test reads it. */
export interface Event {
  type: string;
  seq?: number;
  [field: string]: unknown;
}

/** A `ws` client that keeps every event it receives and the headers of the upgrade's answer. */
export class Client {
  readonly events: Event[] = [];
  /** The headers of the server's answer to the upgrade. */
  upgradeHeaders: Record<string, string | string[] | undefined> = {};
  private constructor(readonly ws: WebSocket) {
    ws.once("upgrade", (res) => (this.upgradeHeaders = res.headers));
    ws.on("message", (data) => this.events.push(JSON.parse(String(data)) as Event));
  }

  static async open(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const client = new Client(new WebSocket(url, { ...options, headers }));
    await new Promise<void>((resolve, reject) => {
      client.ws.once("open", () => resolve());
      client.ws.once("error", reject);
    });
    return client;
  }

  async next(type: string, after = 0, timeoutMs = 10_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(after).find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type}; got ${this.events.map((e) => e.type).join(", ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
