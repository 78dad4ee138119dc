// @ts-check
// The cost of a tool round trip in a conversation: a server tool on a loopback port of this process
// (the bench runtime allows http: URLs) that answers after 100 ms, called by the mock model because
// the user's words name it. What the API adds is the time from `tool.call` to the model's next words
// at the client, less the tool's own time measured at the tool.
import { createServer } from "node:http";
import { now, openConversation, percentile, UNPACED } from "./conversation.mjs";

const TOOL_MS = 100;

/** A tool server that answers `{"status":"shipped"}` after TOOL_MS and records how long each call held it. */
async function startTool() {
  /** @type {number[]} */
  const held = [];
  const server = createServer((req, res) => {
    const arrived = now();
    req.resume();
    req.on("end", () =>
      setTimeout(() => {
        res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":"shipped"}');
        held.push(now() - arrived);
      }, TOOL_MS),
    );
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}/tool`, held, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * `turns` turns, one at a time, each calling the tool once.
 * @param {{ apiUrl: string, headers: Record<string, string>, turns: number }} opts
 */
export async function toolRoundTrip({ apiUrl, headers, turns }) {
  const tool = await startTool();
  const { ws, listen } = await openConversation(apiUrl, headers, {
    ...UNPACED,
    model: "mock:echo",
    tools: [
      { type: "server", name: "lookup_order", url: tool.url, filler: false, parameters: { type: "object", properties: { order_id: { type: "string" } } } },
    ],
  });
  /** @type {number[]} */
  const roundTrips = [];
  /** @type {number[]} */
  const toolMs = [];
  try {
    for (let i = 0; i < turns; i++) {
      const { roundTrip, metricsToolMs } = await new Promise((resolve, reject) => {
        /** @type {number | undefined} */
        let called;
        /** @type {number | undefined} */
        let answered;
        /** @type {number | undefined} */
        let nextWords;
        listen((e) => {
          if (e.type === "tool.call") called = now();
          else if (e.type === "tool.result") answered = now();
          else if (e.type === "agent.response.delta" && answered !== undefined && nextWords === undefined) nextWords = now();
          else if (e.type === "error") reject(new Error(`turn failed: ${e.code} ${e.message}`));
          else if (e.type === "metrics.turn") {
            if (called === undefined || nextWords === undefined) return reject(new Error("a turn without its tool call or its answer"));
            resolve({ roundTrip: nextWords - called, metricsToolMs: e.tool_ms });
          }
        });
        ws.send(JSON.stringify({ type: "input.text", text: `Please lookup_order for order number ${i}.` }));
      });
      roundTrips.push(roundTrip);
      toolMs.push(metricsToolMs);
    }
  } finally {
    ws.close(1000);
    await tool.close();
  }
  const sorted = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b);
  const added = sorted(roundTrips.map((rt, i) => rt - (tool.held[i] ?? TOOL_MS)));
  return {
    turns,
    tool_ms_at_tool: { p50: percentile(sorted(tool.held), 50) },
    round_trip_ms: { p50: percentile(sorted(roundTrips), 50), p99: percentile(sorted(roundTrips), 99) },
    metrics_tool_ms: { p50: percentile(sorted(toolMs), 50) },
    added_ms: { p50: percentile(added, 50), p99: percentile(added, 99) },
  };
}
