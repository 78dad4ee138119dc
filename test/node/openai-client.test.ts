import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

/** The official OpenAI client, pointed at the gateway with `baseURL`, as a user would. */

const client = new OpenAI({
  apiKey: "av_test_demo00000000000000000000000000000000",
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

    const unconfigured = await client.chat.completions.create({ model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] }).catch((err: unknown) => err);
    expect(unconfigured).toBeInstanceOf(OpenAI.InternalServerError);
    expect((unconfigured as InstanceType<typeof OpenAI.InternalServerError>).code).toBe("provider.not_configured");

    const badKey = new OpenAI({ apiKey: "not-a-key", baseURL: `${inject("apiUrl")}/v1/ai`, maxRetries: 0 });
    await expect(badKey.chat.completions.create({ model: "mock:echo", messages: [{ role: "user", content: "Hi" }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
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
