import { abortAllDurableObjects } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MessageJson, ServerEvent } from "../src/durable-objects/conversation.protocol";
import { api, expectError, KEYS } from "./helpers/http";
import { type Answer, Receivers, uniqueName } from "./helpers/webhooks";
import { createConversation, socketsClosedAfterEach } from "./helpers/ws";

/**
 * Tools in conversations: the model calls them, a client answers over its socket or the customer's
 * server over signed HTTPS, the results go back to the model and into the transcript, and the
 * avatar says a filler line when a tool is slow. The mock model calls the tool the user's words
 * name ("in parallel" names several, "keep calling" loops, "announce" speaks first).
 */

const { open } = socketsClosedAfterEach();
let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;

/** Audio far ahead of real time: turns take as long as their tools, not their speech. */
const FAST = { audio_lead_ms: 600_000 };
const ORDER_PARAMS = { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] };
const clientTool = (fields: Record<string, unknown> = {}) => ({ type: "client", name: "get_order_status", parameters: ORDER_PARAMS, ...fields });
const serverTool = (url: string, fields: Record<string, unknown> = {}) => ({ type: "server", name: "lookup_order", url, parameters: ORDER_PARAMS, ...fields });

const json = (value: unknown, delayMs = 0): Answer => {
  return async () => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return Response.json(value);
  };
};

async function messagesOf(id: string, key: string = KEYS.demo): Promise<MessageJson[]> {
  const res = await api(`/v1/conversations/${id}/messages?limit=100`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: MessageJson[] }).data.reverse();
}

const post = (path: string, body: unknown, key: string = KEYS.demo) =>
  api(path, { method: "POST", key, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("client tools", () => {
  it("are called over the socket, answered with tool.result, and the model answers with the result", async () => {
    const conv = await createConversation({ ...FAST, tools: [clientTool()] });
    expect(conv.tools).toEqual([
      { type: "client", name: "get_order_status", description: "", parameters: ORDER_PARAMS, timeout_ms: 10_000, filler: null, client: false },
    ]);
    const ws = await open(conv.id);
    ws.send({ type: "input.text", event_id: "ask", text: "Please get_order_status for order A123." });

    const called = await ws.next("message.created");
    expect(called.message).toMatchObject({ role: "user" });
    const withCalls = await ws.next("message.created");
    expect(withCalls.message).toMatchObject({ role: "assistant", content: "", tool_calls: [{ name: "get_order_status" }] });
    const call = await ws.next("tool.call");
    expect(call).toMatchObject({ name: "get_order_status", kind: "client", client: false, timeout_ms: 10_000, reply_to: "ask" });
    expect(call.call_id).toBe(withCalls.message.tool_calls?.[0]?.id);
    expect(call.arguments).toEqual({ order_id: expect.any(String) });
    expect(call.seq).toBeGreaterThan(0);

    ws.send({ type: "tool.result", call_id: call.call_id, output: { status: "shipped", eta: "Friday" } });
    const result = await ws.next("tool.result");
    expect(result).toMatchObject({ call_id: call.call_id, name: "get_order_status", output: { status: "shipped", eta: "Friday" } });
    expect(result.error).toBeUndefined();
    const toolMessage = await ws.next("message.created");
    expect(toolMessage.message).toMatchObject({ role: "tool", tool_call_id: call.call_id, name: "get_order_status", is_error: false });
    expect(JSON.parse(toolMessage.message.content)).toEqual({ status: "shipped", eta: "Friday" });

    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toContain("I called get_order_status and it returned status shipped, eta Friday.");
    const metrics = await ws.next("metrics.turn");
    expect(metrics.tool_ms).toEqual(expect.any(Number));

    // A second answer to the same call is refused to its sender (the first one won).
    ws.send({ type: "tool.result", event_id: "late", call_id: call.call_id, output: { status: "lost" } });
    const refused = await ws.next("error");
    expect(refused).toMatchObject({ code: "parameter.invalid", param: "call_id", reply_to: "late" });

    const roles = (await messagesOf(conv.id)).map((m) => m.role);
    expect(roles).toEqual(["user", "assistant", "tool", "assistant"]);
  });

  it("unanswered, time out: the model is told, and the turn finishes", async () => {
    const conv = await createConversation({ ...FAST, tools: [clientTool({ timeout_ms: 300, filler: false })] });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "get_order_status of A1 please" });
    const call = await ws.next("tool.call");
    const result = await ws.next("tool.result", 5000);
    expect(result).toMatchObject({ call_id: call.call_id, error: "No client answered within 300 ms." });
    expect(result.duration_ms).toBeGreaterThanOrEqual(290);
    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toContain("I called get_order_status and it returned error No client answered within 300 ms");
  });

  it("are answered by a client secret's socket only when the tool says client: true", async () => {
    const conv = await createConversation({
      ...FAST,
      tools: [clientTool({ name: "backend_only", timeout_ms: 2000 }), clientTool({ name: "browser_ok", client: true })],
    });
    const browser = await open(conv.id, { token: conv.client_secret.value });
    const backend = await open(conv.id);
    browser.send({ type: "input.text", text: "call backend_only for order 7" });
    const first = await browser.next("tool.call");
    expect(first).toMatchObject({ name: "backend_only", client: false });
    browser.send({ type: "tool.result", event_id: "mine", call_id: first.call_id, output: "from the browser" });
    expect(await browser.next("error")).toMatchObject({ code: "scope.denied", reply_to: "mine" });
    backend.send({ type: "tool.result", call_id: first.call_id, output: { ok: 1 } });
    expect(await browser.next("tool.result")).toMatchObject({ call_id: first.call_id, output: { ok: 1 } });
    await browser.next("metrics.turn", 15_000);

    browser.send({ type: "input.text", text: "call browser_ok for order 8" });
    const second = await browser.next("tool.call");
    expect(second).toMatchObject({ name: "browser_ok", client: true });
    browser.send({ type: "tool.result", call_id: second.call_id, error: "The user closed the dialog." });
    expect(await browser.next("tool.result")).toMatchObject({ call_id: second.call_id, error: "The user closed the dialog." });
    await browser.next("metrics.turn", 15_000);
  });

  it("a tool.result carries exactly one of output and error", async () => {
    const conv = await createConversation(FAST);
    const ws = await open(conv.id);
    ws.send({ type: "tool.result", event_id: "both", call_id: "call_x", output: 1, error: "no" });
    expect(await ws.next("error")).toMatchObject({ code: "parameter.invalid", param: "output", reply_to: "both" });
    ws.send({ type: "tool.result", event_id: "none", call_id: "call_x" });
    expect(await ws.next("error")).toMatchObject({ code: "parameter.invalid", param: "output", reply_to: "none" });
  });

  it("cannot be answered in a REST turn, nor with no app connected: the model is told at once", async () => {
    const conv = await createConversation({ ...FAST, tools: [clientTool()] });
    const res = await post(`/v1/conversations/${conv.id}/messages`, { content: "get_order_status for order 9" });
    expect(res.status).toBe(201);
    const turn = (await res.json()) as { output: MessageJson };
    expect(turn.output.content).toContain("not available here");
    const tool = (await messagesOf(conv.id)).find((m) => m.role === "tool");
    expect(tool?.is_error).toBe(true);
  });
});

describe("server tools", () => {
  it("are POSTed signed the Standard Webhooks way, with the tool's headers, and their JSON answer is the result", async () => {
    const receiver = receivers.add(uniqueName("shop"), json({ status: "delivered" }));
    const res = await post("/v1/conversations", {
      avatar_id: "av_demo",
      greeting: null,
      ...FAST,
      tools: [serverTool(receiver.url, { headers: { "X-Api-Key": "shop-key" } })],
    });
    expect(res.status).toBe(201);
    const conv = (await res.json()) as { id: string; tools: { secret?: string; headers: Record<string, string> }[] };
    const secret = conv.tools[0]?.secret;
    expect(secret).toMatch(/^whsec_/);
    expect(conv.tools[0]?.headers).toEqual({ "X-Api-Key": "[redacted]" });
    // Shown once: not on the conversation afterwards.
    const again = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { tools: Record<string, unknown>[] };
    expect(again.tools[0]).not.toHaveProperty("secret");
    expect(JSON.stringify(again)).not.toContain("shop-key");

    const ws = await open(conv.id);
    expect(JSON.stringify(ws.events[0])).not.toContain("shop-key");
    ws.send({ type: "input.text", text: "Can you lookup_order for Ada?" });
    const call = await ws.next("tool.call");
    expect(call.kind).toBe("server");
    const result = await ws.next("tool.result", 10_000);
    expect(result.output).toEqual({ status: "delivered" });
    await ws.next("metrics.turn", 15_000);

    const [request] = receiver.requests;
    expect(request?.redirect).toBe("manual");
    expect(request?.headers["x-api-key"]).toBe("shop-key");
    expect(request?.headers["webhook-id"]).toBe(call.call_id);
    const verified = new Webhook(secret ?? "").verify(request?.body ?? "", request?.headers ?? {});
    expect(verified).toEqual({ conversation_id: conv.id, call_id: call.call_id, name: "lookup_order", arguments: call.arguments });
  });

  it("failures become tool errors the model is told about: HTTP 500, a redirect, a 1 MiB answer, not JSON, a timeout", async () => {
    const cases: [Answer, string][] = [
      [() => new Response("boom", { status: 500 }), "The tool's server answered HTTP 500."],
      [() => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } }), "redirects are not followed"],
      [() => new Response("x".repeat(1024 * 1024), { headers: { "Content-Type": "application/json" } }), "larger than 64 KiB"],
      [() => new Response("<html>"), "not JSON"],
      ["hang", "did not answer within 300 ms"],
    ];
    for (const [answer, error] of cases) {
      const receiver = receivers.add(uniqueName("bad"), answer);
      const conv = await createConversation({ ...FAST, tools: [serverTool(receiver.url, { timeout_ms: 300, filler: false })] });
      const ws = await open(conv.id);
      ws.send({ type: "input.text", text: "lookup_order for order 5" });
      const result = await ws.next("tool.result", 10_000);
      expect(result.error, error).toContain(error);
      const done = await ws.next("agent.response.done", 15_000);
      expect(done.message.content).toContain("I called lookup_order and it returned error");
      ws.close();
    }
  });

  it("a slow tool gets the filler line, once a turn, however many rounds are slow", async () => {
    const receiver = receivers.add(uniqueName("slow"), json({ found: true }, 1100));
    const conv = await createConversation({ ...FAST, tools: [serverTool(receiver.url, { filler: "One moment while I look." })] });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "keep calling lookup_order for order 1" });
    await ws.next("metrics.turn", 30_000);
    const said = ws
      .ofTypes(["agent.response.delta"])
      .map((e) => (e as Of<"agent.response.delta">).delta)
      .join("");
    expect(said.split("One moment while I look.").length - 1).toBe(1);
    expect(ws.ofTypes(["tool.call"]).length).toBe(5);
  }, 20_000);

  it("the URL policy applies when defined (with its param) and again at call time", async () => {
    const refused = await post("/v1/conversations", { avatar_id: "av_demo", tools: [serverTool("https://127.0.0.1/tool")] });
    await expectError(refused, 400, { type: "invalid_request", code: "parameter.invalid", param: "tools.0.url" });
    const plain = await post("/v1/conversations", { avatar_id: "av_demo", tools: [clientTool(), serverTool("http://shop.example.com/tool")] });
    await expectError(plain, 400, { type: "invalid_request", code: "parameter.invalid", param: "tools.1.url" });
  });
});

describe("the loop", () => {
  it("runs several calls of one round in parallel", async () => {
    const a = receivers.add(uniqueName("a"), json({ a: 1 }, 400));
    const b = receivers.add(uniqueName("b"), json({ b: 2 }, 400));
    const conv = await createConversation({
      ...FAST,
      tools: [serverTool(a.url, { name: "first_tool", filler: false }), serverTool(b.url, { name: "second_tool", filler: false })],
    });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "call first_tool and second_tool in parallel" });
    const metrics = await ws.next("metrics.turn", 15_000);
    const tools = ws.ofTypes(["tool.call", "tool.result"]).map((e) => e.type);
    expect(tools).toEqual(["tool.call", "tool.call", "tool.result", "tool.result"]);
    expect(metrics.tool_ms).toBeGreaterThanOrEqual(390);
    expect(metrics.tool_ms).toBeLessThan(790);
  });

  it("stops after five rounds of calls: the model must then answer in words", async () => {
    const conv = await createConversation({ ...FAST, tools: [clientTool({ name: "lookup" })] });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "keep calling lookup for order 3" });
    for (let round = 0; round < 5; round++) {
      const call = await ws.next("tool.call", 10_000);
      ws.send({ type: "tool.result", call_id: call.call_id, output: { round } });
    }
    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toContain("it returned round 4");
    expect(ws.ofTypes(["tool.call"]).length).toBe(5);
  });

  it("speaks what the model says before a call, and carries tool calls into later turns and resumes", async () => {
    const conv = await createConversation({ ...FAST, tools: [clientTool()] });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "announce it, then get_order_status for order 4" });
    const call = await ws.next("tool.call");
    ws.send({ type: "tool.result", call_id: call.call_id, output: { status: "packed" } });
    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toMatch(/^One moment, let me look\. I called get_order_status and it returned status packed\./);
    const seqAfter = (await ws.next("metrics.turn")).seq ?? 0;
    ws.close();

    await abortAllDurableObjects();
    const messages = await messagesOf(conv.id);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(messages[1]?.tool_calls?.[0]).toMatchObject({ id: call.call_id, name: "get_order_status" });

    const back = await open(conv.id, { lastSeq: 0 });
    await back.until(() => (back.events.at(-1)?.seq ?? 0) >= seqAfter, "the replay");
    expect(back.ofTypes(["tool.call", "tool.result"]).map((e) => e.type)).toEqual(["tool.call", "tool.result"]);
    // The next turn is answered with the tool's history in its context (the model is not confused by it).
    back.send({ type: "input.text", text: "Thanks, that is all." });
    const next = await back.next("agent.response.done", 15_000);
    expect(next.message.content.length).toBeGreaterThan(0);
  });

  it("end_conversation: the avatar says goodbye and the conversation ends with agent_ended", async () => {
    const conv = await createConversation(FAST);
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "I am done, please end_conversation." });
    const call = await ws.next("tool.call");
    expect(call).toMatchObject({ name: "end_conversation", kind: "builtin" });
    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toBe("Goodbye, and thank you for talking with me.");
    expect(await ws.next("session.ended", 15_000)).toMatchObject({ reason: "agent_ended" });
    const record = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { status: string; end_reason: string };
    expect(record).toMatchObject({ status: "ended", end_reason: "agent_ended" });
    // The transcript webhook carries the call and its result.
    const listed = (await (await api("/v1/events?type=conversation.transcript.ready&limit=100")).json()) as {
      data: { data: { conversation_id: string; messages: MessageJson[] } }[];
    };
    const transcript = listed.data.find((e) => e.data.conversation_id === conv.id);
    expect(transcript?.data.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(transcript?.data.messages[1]?.tool_calls?.[0]?.name).toBe("end_conversation");
  });

  it("wait_for_user: the turn ends without another answer", async () => {
    const conv = await createConversation(FAST);
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "Hold on, wait_for_user while I find my card." });
    expect(await ws.next("tool.call")).toMatchObject({ name: "wait_for_user", kind: "builtin" });
    const done = await ws.next("agent.response.done", 15_000);
    expect(done.message.content).toBe("");
    const status = (await (await api(`/v1/conversations/${conv.id}`)).json()) as { status: string };
    expect(status.status).toBe("active");
  });

  it("an interrupt during a call aborts the server tool's request, and a client tool's late result is refused", async () => {
    const receiver = receivers.add(uniqueName("hang"), "hang");
    const conv = await createConversation({ ...FAST, tools: [serverTool(receiver.url, { filler: false }), clientTool()] });
    const ws = await open(conv.id);
    ws.send({ type: "input.text", text: "lookup_order for order 6" });
    await ws.next("tool.call");
    await ws.until(() => receiver.requests.length === 1, "the tool's request");
    const sentAt = Date.now();
    ws.send({ type: "avatar.interrupt" });
    await ws.next("avatar.interrupted", 5000);
    expect(Date.now() - sentAt).toBeLessThan(2000);
    await ws.next("metrics.turn");
    expect(ws.ofTypes(["tool.result"])).toEqual([]);

    ws.send({ type: "input.text", text: "get_order_status for order 6" });
    const call = await ws.next("tool.call");
    ws.send({ type: "avatar.interrupt" });
    await ws.next("avatar.interrupted", 5000);
    ws.send({ type: "tool.result", event_id: "late", call_id: call.call_id, output: { status: "late" } });
    expect(await ws.next("error")).toMatchObject({ code: "parameter.invalid", param: "call_id", reply_to: "late" });
  });
});

describe("definitions", () => {
  it("a persona's tools are its conversations' (secrets shown once, headers never), and another org sees neither", async () => {
    const receiver = receivers.add(uniqueName("persona"));
    const created = await post("/v1/personas", {
      name: "Shop desk",
      vertical: "support",
      system_prompt: "Help with orders.",
      tools: [serverTool(receiver.url, { headers: { Authorization: "Bearer crm" } }), clientTool({ filler: "Checking." })],
    });
    expect(created.status).toBe(201);
    const persona = (await created.json()) as { id: string; tools: Record<string, unknown>[] };
    expect(persona.tools[0]).toMatchObject({ type: "server", headers: { Authorization: "[redacted]" }, secret: expect.stringMatching(/^whsec_/) });
    expect(persona.tools[1]).toMatchObject({ type: "client", filler: "Checking." });
    const read = (await (await api(`/v1/personas/id/${persona.id}`)).json()) as { tools: Record<string, unknown>[] };
    expect(read.tools[0]).not.toHaveProperty("secret");
    expect(JSON.stringify(read)).not.toContain("crm");
    await expectError(await api(`/v1/personas/id/${persona.id}`, { key: KEYS.other }), 404, { type: "not_found", code: "persona.not_found" });

    const conv = await createConversation({ persona_id: persona.id });
    expect((conv.tools as { name: string }[]).map((t) => t.name)).toEqual(["lookup_order", "get_order_status"]);
    expect(conv.tools as unknown[]).not.toContainEqual(expect.objectContaining({ secret: expect.anything() }));
    await expectError(await api(`/v1/conversations/${conv.id}`, { key: KEYS.other }), 404, { type: "not_found", code: "conversation.not_found" });
    await expectError(await api(`/v1/conversations/${conv.id}/messages`, { key: KEYS.other }), 404, { type: "not_found", code: "conversation.not_found" });

    // PATCH replaces the list.
    const patched = await api(`/v1/personas/id/${persona.id}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tools: [] }),
    });
    expect(((await patched.json()) as { tools: unknown[] }).tools).toEqual([]);
  });

  it("refuses every invalid field with its param", async () => {
    const bad: [unknown, string, string][] = [
      [[clientTool({ name: "has space" })], "tools.0.name", "parameter.invalid"],
      [[clientTool({ name: "x".repeat(65) })], "tools.0.name", "parameter.invalid"],
      [[clientTool({ name: "end_conversation" })], "tools.0.name", "parameter.invalid"],
      [[clientTool(), clientTool()], "tools.1.name", "parameter.invalid"],
      [Array.from({ length: 33 }, (_, i) => clientTool({ name: `t${i}` })), "tools", "parameter.invalid"],
      [[clientTool({ type: "mcp" })], "tools.0.type", "parameter.invalid"],
      [[clientTool({ description: "d".repeat(1025) })], "tools.0.description", "parameter.invalid"],
      [[clientTool({ parameters: { type: "string" } })], "tools.0.parameters", "parameter.invalid"],
      [[clientTool({ parameters: { type: "object", description: "p".repeat(9000) } })], "tools.0.parameters", "parameter.invalid"],
      [[clientTool({ timeout_ms: 30_001 })], "tools.0.timeout_ms", "parameter.invalid"],
      [[clientTool({ timeout_ms: 50 })], "tools.0.timeout_ms", "parameter.invalid"],
      [[clientTool({ filler: "f".repeat(201) })], "tools.0.filler", "parameter.invalid"],
      [[clientTool({ client: "yes" })], "tools.0.client", "parameter.invalid"],
      [[clientTool({ url: "https://shop.example.com/" })], "tools.0.url", "parameter.unknown"],
      [[serverTool("https://shop.example.com/", { headers: { "Content-Type": "text/plain" } })], "tools.0.headers.Content-Type", "parameter.invalid"],
      [[serverTool("https://shop.example.com/", { headers: { "X-Key": "a\nb" } })], "tools.0.headers.X-Key", "parameter.invalid"],
      [[serverTool("https://shop.example.com/", { secret: "not-a-secret" })], "tools.0.secret", "parameter.invalid"],
      [[{ type: "server", name: "no_url" }], "tools.0.url", "parameter.missing"],
      ["nope", "tools", "parameter.invalid"],
    ];
    for (const [tools, param, code] of bad) {
      const res = await post("/v1/conversations", { avatar_id: "av_demo", tools });
      await expectError(res, 400, { type: "invalid_request", code, param });
    }
  });
});
