import { and, desc, eq, type SQL } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { activeConversationIds, type ConversationRecord, findConversation, insertConversation, toRecord } from "../db/conversations";
import { type ClientPermission, type ConversationStatus, conversations, type OutputAudioFormat, type VoiceInputSettings } from "../db/schema";
import type { ToolInput, ToolSpec } from "../db/tools";
import { NO_CONVERSATION_USAGE } from "../db/usage";
import { changeVoiceInput, type VoiceInputChange, voiceInputOf } from "../db/voice-input";
import type { Conversation } from "../durable-objects/conversation";
import { activeConversations, concurrencyError } from "../durable-objects/conversation/admission";
import { CALLER_HEADER, encodeCaller } from "../durable-objects/conversation/connections";
import { type ConversationSetup, endedError, readErrorResponse, unwrap } from "../durable-objects/conversation/contract";
import type { MessageJson } from "../durable-objects/conversation.protocol";
import { checkQuota } from "../durable-objects/quota-client";
import type { RateLimiter } from "../durable-objects/rate-limiter";
import type { AuthContext } from "../env";
import { doNames } from "../lib/do-names";
import { ApiError, notFound, quote } from "../lib/errors";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/logger";
import { afterCursor, checkCursor, ownedBy } from "../lib/pagination";
import { requireModel } from "../providers/llm";
import { chooseStt } from "../providers/stt/choose";
import { requireFormat } from "../providers/tts";
import { getAvatar } from "./avatars";
import { mintClientSecret } from "./client-secrets";
import { getPersona } from "./personas";
import { acceptTools } from "./tools";
import { resolveVoice } from "./voices";

/**
 * Conversations: created and listed here against the index (D1), run by their Durable Object, which
 * is the authority on a conversation's state once it exists. Every call checks the org through the
 * index first, so another org's conversation is a 404 before its object is ever reached.
 */

export interface Deps {
  db: Db;
  config: Config;
  log: Logger;
  namespace: DurableObjectNamespace<Conversation>;
  limiter: DurableObjectNamespace<RateLimiter>;
}

/** Transports the contract names but this deployment does not offer yet. */
const RESERVED_TRANSPORTS = ["pipecat", "livekit", "daily"];

export type CreateInput = {
  avatar_id: string;
  persona_id?: string | undefined;
  model?: string | undefined;
  voice_id?: string | undefined;
  system_prompt?: string | undefined;
  greeting?: string | null | undefined;
  transport: { type: string };
  output_audio_format: OutputAudioFormat;
  max_duration_s: number;
  idle_timeout_s: number;
  audio_lead_ms?: number | undefined;
  metadata: Record<string, string>;
  client_permissions: ClientPermission[];
  tools?: ToolInput[] | undefined;
  output_visemes: boolean;
} & VoiceInputChange;

const stub = (deps: Pick<Deps, "namespace">, id: string) => deps.namespace.getByName(doNames.conversation(id));

/** The settings a conversation runs with: the request's, else its persona's, else the defaults. */
async function resolveSetup(deps: Deps, orgId: string, input: CreateInput) {
  if (input.transport.type !== "websocket") {
    if (RESERVED_TRANSPORTS.includes(input.transport.type)) {
      throw new ApiError("transport.unsupported", `transport.type=${input.transport.type} is reserved and not yet available`, { param: "transport.type" });
    }
    throw new ApiError("parameter.invalid", `'transport.type' must be 'websocket' ('pipecat', 'livekit' and 'daily' are reserved).`, {
      param: "transport.type",
    });
  }
  const avatar = await getAvatar(deps.db, orgId, input.avatar_id);
  if (!avatar) throw new ApiError("avatar.not_found", `No avatar with id ${quote(input.avatar_id)}.`, { param: "avatar_id" });
  if (avatar.looksCount > 0) {
    throw new ApiError("avatar.not_a_look", `${avatar.id} is a character with looks; start the conversation with one of its looks.`, { param: "avatar_id" });
  }
  if (avatar.status !== "ready" || !avatar.active) {
    throw new ApiError("avatar.not_ready", `${avatar.id} cannot hold a conversation yet (status: ${avatar.status}${avatar.active ? "" : ", inactive"}).`, {
      param: "avatar_id",
    });
  }
  const persona = input.persona_id === undefined ? undefined : await getPersona(deps.db, orgId, input.persona_id);
  if (input.persona_id !== undefined && !persona)
    throw new ApiError("persona.not_found", `No persona with id ${quote(input.persona_id)}.`, { param: "persona_id" });

  const modelId = input.model ?? persona?.model ?? "mock:echo";
  const modelParam = input.model === undefined && persona ? "persona_id" : "model";
  const { provider: llm, model } = requireModel(modelId, modelParam);
  if (!llm.configured(deps.config)) {
    throw new ApiError("provider.not_configured", `${llm.name} is not configured on this deployment; use another model (mock:echo always works).`, {
      param: modelParam,
    });
  }
  const voiceParam = input.voice_id === undefined && persona ? "persona_id" : "voice_id";
  const voice = await resolveVoice(input.voice_id ?? persona?.defaultVoiceId ?? deps.config.tts.defaultVoiceId, deps, voiceParam);
  const tts = requireFormat(voice, input.output_audio_format, "output_audio_format");
  if (!tts.configured(deps.config)) {
    throw new ApiError("provider.not_configured", `${tts.name} is not configured on this deployment; use another voice (the mock:* voices always work).`, {
      param: voiceParam,
    });
  }
  const setup: ConversationSetup = {
    systemPrompt: input.system_prompt ?? persona?.systemPrompt ?? null,
    greeting: input.greeting !== undefined ? input.greeting : (persona?.greeting ?? null),
    llm: { provider: llm.id, model: model.name, contextWindow: model.context_window },
    tts: { provider: voice.provider, voice: voice.voice },
    ...(input.audio_lead_ms === undefined ? {} : { audioLeadMs: input.audio_lead_ms }),
  };
  // The request's tools replace the persona's (secrets generated now are shown in the create response only).
  const tools =
    input.tools === undefined
      ? { tools: persona ? (JSON.parse(persona.tools) as ToolSpec[]) : [], revealed: [] }
      : acceptTools(input.tools, deps.config.webhooks.allowInsecureUrls);
  return { setup, modelId: model.id, voiceId: voice.id, personaId: persona?.id ?? null, voiceInput: resolveVoiceInput(deps, input, persona), tools };
}

/**
 * How it listens: the request's settings, else its persona's (`stt`, and `language` when it is an
 * ISO 639-1 code), else the defaults; the `stt` checked (model.unknown, provider.not_configured).
 */
function resolveVoiceInput(deps: Deps, input: VoiceInputChange, persona: { stt: string | null; language: string } | undefined): VoiceInputSettings {
  const personaLanguage = persona?.language.split("-")[0]?.toLowerCase();
  const voiceInput = changeVoiceInput(voiceInputOf({}), {
    ...input,
    stt: input.stt ?? persona?.stt ?? undefined,
    input_language: input.input_language !== undefined ? input.input_language : personaLanguage?.length === 2 ? personaLanguage : undefined,
  });
  chooseStt(voiceInput.stt, deps.config, input.stt === undefined && persona?.stt ? "persona_id" : "stt");
  return voiceInput;
}

/** `ws:`/`wss:` to match the base URL the client used (or the deployment's public one). */
const socketUrl = (baseUrl: string, id: string) => `${baseUrl.replace(/^http/, "ws").replace(/\/$/, "")}/v1/conversations/${id}/ws`;

/**
 * `keyId` is the API key creating it: the client secret it gets is revoked with that key.
 * `concurrency` is the org's cap on active conversations: refused here when it is reached already
 * (the cap itself is held exactly when the first socket joins, see conversation/admission.ts).
 */
export async function createConversation(
  deps: Deps,
  auth: { orgId: string; keyId: string | undefined; concurrency: number; quotas: NonNullable<ConversationSetup["quotas"]> },
  input: CreateInput,
  baseUrl: string,
) {
  const { orgId } = auth;
  const resolved = await resolveSetup(deps, orgId, input);
  const { modelId, voiceId, personaId, voiceInput, tools } = resolved;
  // The quotas it will count against: the org's and its creating key's, as they stand now.
  const setup: ConversationSetup = { ...resolved.setup, quotas: auth.quotas };
  if (deps.config.rateLimiting) {
    const active = await activeConversations(deps.limiter, orgId);
    if (active >= auth.concurrency) throw concurrencyError(auth.concurrency, active);
    const holder = { orgId, keyId: auth.keyId ?? null, org: auth.quotas.org, key: auth.quotas.key };
    await checkQuota({ limiter: deps.limiter, enabled: true }, holder, "conversation_seconds");
  }
  const id = newId("conv");
  const now = Date.now();
  const record: ConversationRecord = {
    id,
    orgId,
    avatarId: input.avatar_id,
    personaId,
    model: modelId,
    voiceId,
    outputAudioFormat: input.output_audio_format,
    status: "active",
    transportUrl: socketUrl(baseUrl, id),
    maxDurationS: input.max_duration_s,
    idleTimeoutS: input.idle_timeout_s,
    metadata: input.metadata,
    clientPermissions: input.client_permissions,
    voiceInput,
    tools: tools.tools,
    outputVisemes: input.output_visemes,
    keyId: auth.keyId ?? null,
    usage: NO_CONVERSATION_USAGE,
    createdAt: now,
    startedAt: null,
    endedAt: null,
    endReason: null,
  };
  const clientSecret = await mintClientSecret(deps.config.secret("ASSET_SIGNING_SECRET"), { conversationId: id, orgId, keyId: auth.keyId }, now);
  // The object first: an index row always has an object behind it. (An object whose index row
  // failed to be written is unreachable, and its limits end it.)
  await stub(deps, id).init(record, setup);
  await insertConversation(deps.db, record);
  return { record, clientSecret, revealed: tools.revealed };
}

export interface ConversationPage {
  limit: number;
  startingAfter?: string | undefined;
  status?: ConversationStatus | undefined;
}

/** A page of the org's conversations, newest first; fetches `limit + 1` rows. */
export async function listConversations(db: Db, orgId: string, page: ConversationPage): Promise<ConversationRecord[]> {
  const conditions: (SQL | undefined)[] = [
    eq(conversations.orgId, orgId),
    page.status === undefined ? undefined : eq(conversations.status, page.status),
    page.startingAfter === undefined ? undefined : afterCursor("conversations", page.startingAfter, ownedBy(orgId)),
  ];
  const rows = await db
    .select()
    .from(conversations)
    .where(and(...conditions))
    .orderBy(desc(conversations.createdAt), desc(conversations.id))
    .limit(page.limit + 1)
    .all();
  await checkCursor(rows, page.startingAfter, async (id) => (await findConversation(db, orgId, id)) !== undefined);
  return rows.map(toRecord);
}

async function owned(deps: Pick<Deps, "db">, orgId: string, id: string): Promise<ConversationRecord> {
  const record = await findConversation(deps.db, orgId, id);
  if (!record) throw notFound("conversation", id);
  return record;
}

/** The conversation as its object knows it now, with its newest 100 messages. */
export async function getConversation(deps: Deps, orgId: string, id: string): Promise<{ record: ConversationRecord; messages: MessageJson[] }> {
  const indexed = await owned(deps, orgId, id);
  return (await stub(deps, id).snapshot(100)) ?? { record: indexed, messages: [] };
}

/** A page of the conversation's messages, newest first (the transcript of a long conversation). */
export async function listMessages(deps: Deps, orgId: string, id: string, page: { limit: number; startingAfter?: string | undefined }) {
  await owned(deps, orgId, id);
  const result = await stub(deps, id).messagePage(page.limit, page.startingAfter);
  if (result === null) return { object: "list" as const, data: [], has_more: false, next_cursor: null };
  if (result === undefined)
    throw new ApiError("parameter.invalid", `No message with id ${quote(page.startingAfter)} to start after.`, { param: "starting_after" });
  const last = result.data[result.data.length - 1];
  return { object: "list" as const, data: result.data, has_more: result.hasMore, next_cursor: result.hasMore && last ? last.id : null };
}

/** A user message, answered once the whole reply has been spoken (also pushed to the sockets). */
export async function sendMessage(deps: Deps, orgId: string, id: string, content: string) {
  const record = await owned(deps, orgId, id);
  if (record.status === "ended") throw endedError();
  return unwrap(await stub(deps, id).send(content));
}

/** The same, as the stream of the turn's events. */
export async function streamMessage(deps: Deps, orgId: string, id: string, content: string): Promise<ReadableStream<Uint8Array>> {
  const record = await owned(deps, orgId, id);
  if (record.status === "ended") throw endedError();
  return unwrap(await stub(deps, id).stream(content));
}

export async function endConversation(deps: Deps, orgId: string, id: string): Promise<ConversationRecord> {
  const indexed = await owned(deps, orgId, id);
  return (await stub(deps, id).end("api_ended")) ?? indexed;
}

/**
 * Hands a WebSocket upgrade to the conversation's object with who is connecting (the credential,
 * the key behind it, the org's limit), which the object keeps with the socket; its refusals come
 * back as errors.
 */
export async function connect(deps: Deps, auth: AuthContext, id: string, request: Request): Promise<Response> {
  await owned(deps, auth.org.id, id);
  const headers = new Headers(request.headers);
  headers.set(
    CALLER_HEADER,
    encodeCaller({
      credential: auth.conversationId === undefined ? "api_key" : "client_secret",
      keyId: auth.key?.keyId ?? auth.issuedBy ?? null,
      orgLimit: auth.org.limit,
      orgConcurrency: auth.org.concurrency,
    }),
  );
  const response = await stub(deps, id).fetch(new Request(request, { headers }));
  if (response.status === 101) return response;
  throw await readErrorResponse(response);
}

/**
 * A key of the org was revoked: each active conversation's object closes the sockets it opened or
 * that a client secret it minted opened. Run in the background by the revocation, which must reach
 * them within a lease lifetime (10 s); a few at a time, so an org with many conversations does not
 * open them all at once.
 */
export async function closeSocketsOfKey(deps: Pick<Deps, "db" | "namespace" | "log">, orgId: string, keyId: string): Promise<void> {
  const ids = await activeConversationIds(deps.db, orgId);
  for (let i = 0; i < ids.length; i += REVOCATION_FANOUT) {
    await Promise.all(
      ids.slice(i, i + REVOCATION_FANOUT).map((id) =>
        stub(deps, id)
          .keyRevoked(keyId)
          .catch((err: unknown) => deps.log.warn("sockets of a revoked key not closed", { conversation_id: id, key_id: keyId, error: err })),
      ),
    );
  }
}

/** Conversation objects told of a revocation at once. */
const REVOCATION_FANOUT = 16;
