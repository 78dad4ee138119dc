// What an integrating developer writes: a client typed from /v1/openapi.json by openapi-typescript
// (default options) and openapi-fetch. test/node/openapi-client.test.ts generates ./api.d.ts,
// compiles this file with TypeScript 5 under `strict`, then runs it against the API.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Turn = components["schemas"]["Turn"];

const client = createClient<paths>({
  baseUrl: process.env.API_URL,
  headers: { Authorization: `Bearer ${process.env.API_KEY}` },
});

const avatars = await client.GET("/v1/avatars", { params: { query: { limit: 5 } } });
if (avatars.error) throw new Error(`listAvatars: ${avatars.error.error.code}`);
const avatarIds: string[] = avatars.data.data.map((a) => a.id);

const created = await client.POST("/v1/conversations", { body: { avatar_id: "av_demo" } });
if (created.error) throw new Error(`createConversation: ${created.error.error.code}`);
const conversationId: string = created.data.id;
const websocketUrl: string = created.data.transport.url;

const sent = await client.POST("/v1/conversations/{conversation_id}/messages", {
  params: { path: { conversation_id: conversationId } },
  body: { content: "Hello there" },
});
if (sent.error) throw new Error(`sendConversationMessage: ${sent.error.error.code}`);
const turn: Turn = sent.data;
// `output` is null when the reply was interrupted before it said anything.
const reply: string | null = turn.output === null ? null : turn.output.content;
const interrupted: Turn["output"] = null;

const speech = await client.POST("/v1/tts", { body: { text: "Hello from the avatar." }, parseAs: "arrayBuffer" });
if (speech.error) throw new Error(`createSpeech: ${speech.error.error.code}`);
const audioBytes: number = speech.data.byteLength;

console.log(JSON.stringify({ avatarIds, conversationId, websocketUrl, status: turn.status, reply, interrupted, audioBytes }));
