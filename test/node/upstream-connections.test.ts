import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";
import { Client } from "./ws-client.ts";

/**
 * Connections to an upstream, against the real runtime (`wrangler dev`) and a model on a real
 * socket: the Workers test pool intercepts fetch, so only here can a test see whether a finished
 * answer leaves its connection to be reused or closes it.
 */

const KEY = "av_test_demo00000000000000000000000000000000";
const HEADERS = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An OpenAI-shaped model streaming "Hello there." a token at a time, then `[DONE]`, then the body's end. */
function fakeModel() {
  const seen = { connections: 0, requests: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      seen.requests += 1;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      for (const token of ["Hello", " there", "."]) {
        res.write(chunk({ content: token }, null));
        await sleep(5);
      }
      res.write(chunk({}, "stop"));
      res.write("data: [DONE]\n\n");
      // The body's end (the chunked encoding's last bytes) in a packet of its own, as it can come.
      await sleep(5);
      res.end();
    });
  });
  server.on("connection", () => (seen.connections += 1));
  return { server, seen };
}

describe("connections to upstreams in wrangler dev", () => {
  let dev: WranglerDev | undefined;
  let server: Server | undefined;
  const model = fakeModel();
  beforeAll(async () => {
    server = model.server;
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    dev = await startWranglerDev({ settings: { OPENAI_API_KEY: "sk-test-connections", OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` } });
  }, 90_000);
  afterAll(async () => {
    await dev?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  }, 15_000);

  it("a conversation's turns reuse one connection to the model: a finished answer is read to its end, not cut", async () => {
    if (!dev) throw new Error("wrangler dev did not start");
    const res = await fetch(new URL("/v1/conversations", dev.url), {
      method: "POST",
      headers: HEADERS,
      body: JSON.stringify({ avatar_id: "av_demo", model: "openai:gpt-4o-mini", voice_id: "mock:warm", greeting: null }),
    });
    expect(res.status).toBe(201);
    const conversation = (await res.json()) as { transport: { url: string } };
    const client = await Client.open(conversation.transport.url, HEADERS);
    for (let turn = 1; turn <= 3; turn++) {
      const sent = client.events.length;
      client.ws.send(JSON.stringify({ type: "input.text", text: `Turn ${turn}` }));
      await client.next("metrics.turn", sent);
      // A pause a person would take: the runtime has had its chance to pool the connection.
      await sleep(50);
    }
    client.ws.close();
    const replies = client.events.filter((e) => e.type === "agent.response.done").map((e) => (e.message as { content: string }).content);
    expect(replies).toEqual(["Hello there.", "Hello there.", "Hello there."]);
    expect(model.seen.requests).toBe(3);
    expect(model.seen.connections).toBe(1);
  });
});
