// The platform's floor, measured in the same workerd process as the API: each baseline worker does
// the least work of its kind, so the API's routes can be judged as ratios against them.

/** (a) bare: no routing, no middleware. */
export const bare = `export default { fetch: () => new Response("ok") };`;

/** (b) bare + one D1 primary-key select on the API's own database. */
export const d1 = `export default {
  async fetch(request, env) {
    const row = await env.DB.prepare("SELECT id, name FROM avatars WHERE id = ?").bind("av_demo").first();
    return Response.json(row);
  },
};`;

/** (c) bare + one Durable Object RPC call (no storage). */
export const durableObject = `import { DurableObject } from "cloudflare:workers";
export class Echo extends DurableObject {
  n = 0;
  ping() { return ++this.n; }
}
export default {
  async fetch(request, env) {
    return Response.json({ n: await env.ECHO.getByName("bench").ping() });
  },
};`;

/**
 * (d) bare + one call of the API's own RateLimiter object (counts in memory, persists once per
 * burst), on one key: the most one organisation's requests can go through its limiter.
 */
export const limiter = `export default {
  async fetch(request, env) {
    const r = await env.RATE_LIMITER.getByName("org:bench-limiter-only").hit(1e12);
    return Response.json(r);
  },
};`;

/**
 * A fake OpenAI-compatible upstream: POST /v1/chat/completions answers a stream of eight chunks
 * (the first at once, then one every 5 ms) or, without `stream`, one completion. The AI gateway is
 * pointed at it, and the same requests are also sent to it directly, so the gateway's added latency
 * is the difference.
 *
 * A last user message of the form `pace <sentences> <words> <interval_ms>` gets a reply like a real
 * model's instead: that many sentences of that many words, one word-token (" word") every interval,
 * on a fixed schedule from the request's arrival (deadlines, not sleeps, so timer lag does not
 * accumulate). The conversation benchmark knows exactly when each sentence became complete.
 */
export const fakeOpenAi = `const encoder = new TextEncoder();
const WORDS = ["Hello", " from", " the", " fake", " upstream", ",", " friend", "."];
const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
const frame = (payload) => encoder.encode("data: " + JSON.stringify(payload) + "\\n\\n");
const delta = (content) => frame({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const end = () => [frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }), encoder.encode("data: [DONE]\\n\\n")];
function paced(sentences, words, interval) {
  const tokens = [];
  for (let s = 0; s < sentences; s++) {
    for (let w = 0; w < words; w++) tokens.push((s === 0 && w === 0 ? "" : " ") + (w === 0 ? "Sentence" : "word") + (w === words - 1 ? "." : ""));
  }
  const start = Date.now();
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i === tokens.length) {
        for (const f of end()) controller.enqueue(f);
        return controller.close();
      }
      const wait = start + i * interval - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      controller.enqueue(delta(tokens[i]));
      i += 1;
    },
  });
}
export default {
  async fetch(request) {
    const body = await request.json();
    const last = body.messages?.filter((m) => m.role === "user").at(-1)?.content ?? "";
    const pace = /^pace (\\d+) (\\d+) (\\d+)$/.exec(typeof last === "string" ? last : "");
    if (pace && body.stream) {
      return new Response(paced(Number(pace[1]), Number(pace[2]), Number(pace[3])), { headers: { "Content-Type": "text/event-stream" } });
    }
    if (!body.stream) {
      return Response.json({ id: "chatcmpl-fake", object: "chat.completion", created: 1, model: "gpt-4o-mini",
        choices: [{ index: 0, message: { role: "assistant", content: WORDS.join("") }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } });
    }
    let i = 0;
    const stream = new ReadableStream({
      async pull(controller) {
        if (i > 0) await new Promise((r) => setTimeout(r, 5));
        if (i < WORDS.length) {
          controller.enqueue(delta(WORDS[i]));
          i += 1;
          return;
        }
        for (const f of end()) controller.enqueue(f);
        controller.close();
      },
    });
    return new Response(stream, { headers: { "Content-Type": "text/event-stream" } });
  },
};`;

/**
 * A fake Deepgram `/v1/speak`: streams audio bytes as it makes them. By default eight 4 KiB chunks
 * (the first at once, then one every 5 ms), each starting with `AUDIO`; with `tag=bytes-<n>` (a
 * query parameter Deepgram passes through) `n` bytes as fast as they are read, for memory tests.
 */
export const fakeDeepgram = `const CHUNK = 4096;
const marked = (i) => { const b = new Uint8Array(CHUNK).fill(65 + (i % 26)); b.set(new TextEncoder().encode("AUDIO"), 0); return b; };
export default {
  async fetch(request) {
    await request.arrayBuffer();
    const tag = new URL(request.url).searchParams.get("tag") ?? "";
    const total = tag.startsWith("bytes-") ? Number(tag.slice(6)) : 0;
    let i = 0;
    let sent = 0;
    const big = new Uint8Array(64 * 1024).fill(7);
    const stream = new ReadableStream({
      async pull(controller) {
        if (total > 0) {
          if (sent >= total) return controller.close();
          const n = Math.min(big.length, total - sent);
          controller.enqueue(big.slice(0, n));
          sent += n;
          return;
        }
        if (i > 0) await new Promise((r) => setTimeout(r, 5));
        if (i === 8) return controller.close();
        controller.enqueue(marked(i));
        i += 1;
      },
    });
    return new Response(stream, { headers: { "Content-Type": "audio/mpeg" } });
  },
};`;

/**
 * (e) bare + a WebSocket to a Durable Object (hibernation API) that echoes each frame: the
 * platform's own cost of a frame in and a frame out, which a conversation's turn also pays.
 */
export const wsEcho = `import { DurableObject } from "cloudflare:workers";
export class Room extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, message) { ws.send(message); }
}
export default {
  fetch: (request, env) => env.ROOM.getByName("bench").fetch(request),
};`;
