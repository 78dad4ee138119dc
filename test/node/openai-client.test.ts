import { SignJWT } from "jose";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { hermeticSettings } from "./settings.ts";

/** The official OpenAI client, pointed at the gateway with `baseURL`, as a user would. */

const KEY = "av_test_demo00000000000000000000000000000000";

const client = new OpenAI({
  apiKey: KEY,
  baseURL: `${inject("apiUrl")}/v1/ai`,
  maxRetries: 0,
});

describe("the official openai client", () => {
  it("parses a completion", async () => {
    const completion = await client.chat.completions.create({
      model: "mock:echo",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Reply with 3 sentences about lighthouses." },
      ],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("mock:echo");
    const content = completion.choices[0]?.message.content ?? "";
    expect(content.match(/[.!?](\s|$)/g)?.length).toBe(3);
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("parses a stream, usage included", async () => {
    const stream = await client.chat.completions.create({
      model: "mock:echo",
      messages: [{ role: "user", content: "Reply with one word" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.trim().split(/\s+/)).toHaveLength(1);
    expect(finish).toBe("stop");
    expect(usage?.completion_tokens).toBe(1);
  });

  it("reads our errors as its own: status, code, param and message", async () => {
    const failure = await client.chat.completions.create({ model: "openai:gpt-9", messages: [{ role: "user", content: "Hi" }] }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    const error = failure as InstanceType<typeof OpenAI.UnprocessableEntityError>;
    expect(error.status).toBe(422);
    expect(error.code).toBe("model.unknown");
    expect(error.param).toBe("model");
    expect(error.message).toContain("openai:gpt-9");
    expect(error.requestID).toMatch(/^req_/);

    const unconfigured = await client.chat.completions
      .create({ model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err);
    expect(unconfigured).toBeInstanceOf(OpenAI.InternalServerError);
    expect((unconfigured as InstanceType<typeof OpenAI.InternalServerError>).code).toBe("provider.not_configured");

    const badKey = new OpenAI({ apiKey: "not-a-key", baseURL: `${inject("apiUrl")}/v1/ai`, maxRetries: 0 });
    await expect(badKey.chat.completions.create({ model: "mock:echo", messages: [{ role: "user", content: "Hi" }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it("gets tool calls back", async () => {
    const completion = await client.chat.completions.create({
      model: "mock:echo",
      messages: [{ role: "user", content: "Look up the order status for order 1234" }],
      tools: [
        {
          type: "function",
          function: { name: "get_order_status", parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] } },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_order_status" } },
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    expect(call?.type === "function" ? call.function.name : undefined).toBe("get_order_status");
  });
});

/** Every request a client sends, through a fetch of our own: URL, status and X-Should-Retry. */
function recorder(rewrite: (res: Response) => Response = (res) => res) {
  const seen: { url: string; status: number; shouldRetry: string | null }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await globalThis.fetch(input, init);
    seen.push({ url: String(input instanceof Request ? input.url : input), status: res.status, shouldRetry: res.headers.get("X-Should-Retry") });
    return rewrite(res);
  };
  return { seen, fetch };
}

describe("the official openai client's models.list() and models.retrieve()", () => {
  it("lists the gateway's catalogue", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model.object).toBe("model");
      expect(model.created).toBe(1767225600);
      expect(model.id.startsWith(`${model.owned_by}:`)).toBe(true);
      ids.push(model.id);
    }
    const catalogue = (await (await fetch(`${inject("apiUrl")}/v1/models`)).json()) as { data: { id: string }[] };
    expect(ids).toEqual(catalogue.data.map((m) => m.id));
  });

  it("retrieves a model, one whose id holds a `/` included", async () => {
    const { seen, fetch } = recorder();
    const withFetch = new OpenAI({ apiKey: KEY, baseURL: `${inject("apiUrl")}/v1/ai`, fetch });
    const model = await withFetch.models.retrieve("groq:meta-llama/llama-4-scout-17b-16e-instruct");
    expect(model).toEqual({ id: "groq:meta-llama/llama-4-scout-17b-16e-instruct", object: "model", created: 1767225600, owned_by: "groq" });
    expect(seen.map((r) => new URL(r.url).pathname)).toEqual(["/v1/ai/models/groq:meta-llama%2Fllama-4-scout-17b-16e-instruct"]);
    expect((await withFetch.models.retrieve("mock:echo")).owned_by).toBe("mock");
  });

  it("an unknown model is a NotFoundError, asked once", async () => {
    const { seen, fetch } = recorder();
    const withFetch = new OpenAI({ apiKey: KEY, baseURL: `${inject("apiUrl")}/v1/ai`, fetch });
    const failure = await withFetch.models.retrieve("openai:gpt-9").catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
    expect((failure as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model.not_found");
    expect(seen).toHaveLength(1);
  });
});

describe("retries: the client obeys X-Should-Retry", () => {
  it("does not retry provider.not_configured (a 503 it would otherwise send 3 times)", async () => {
    const { seen, fetch } = recorder();
    const defaults = new OpenAI({ apiKey: KEY, baseURL: `${inject("apiUrl")}/v1/ai`, fetch });
    expect(defaults.maxRetries).toBe(2);
    const failure = await defaults.chat.completions
      .create({ model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failure as InstanceType<typeof OpenAI.InternalServerError>).code).toBe("provider.not_configured");
    expect(seen).toEqual([{ url: expect.stringMatching(/\/v1\/ai\/chat\/completions$/), status: 503, shouldRetry: "false" }]);
  });

  it("retries a rate limit, twice with the default maxRetries", async () => {
    // A key of a fresh free-tier organisation (10 requests a minute), so no other test shares its window.
    const jwt = await new SignJWT({ sub: "user_retry", org_id: `org_retry${Date.now().toString(36)}` })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(hermeticSettings().JWT_SECRET));
    const created = await fetch(`${inject("apiUrl")}/v1/api-keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "retry test", mode: "test" }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i++)
      status = (await fetch(`${inject("apiUrl")}/v1/ai/models`, { headers: { Authorization: `Bearer ${secret}` } })).status;
    expect(status).toBe(429);

    // The wait is shortened (Retry-After can say up to 60 s; the client reads retry-after-ms first);
    // whether to retry at all is still the server's X-Should-Retry.
    const { seen, fetch: recording } = recorder((res) => {
      const headers = new Headers(res.headers);
      headers.set("retry-after-ms", "1");
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
    });
    const limited = new OpenAI({ apiKey: secret, baseURL: `${inject("apiUrl")}/v1/ai`, fetch: recording });
    const failure = await limited.models.list().catch((err: unknown) => err);
    expect(seen[0]).toMatchObject({ status: 429, shouldRetry: "true" });
    if (failure instanceof OpenAI.RateLimitError) {
      expect(failure.code).toBe("rate_limit.exceeded");
      expect(seen).toHaveLength(3);
    } else {
      // The minute turned over between two attempts: a retry got through, which is the point.
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)?.status).toBe(200);
    }
  });
});
