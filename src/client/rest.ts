import { AvatarApiError } from "./errors";
import type {
  Avatar,
  Conversation,
  CreateAvatar,
  CreateConversation,
  CreatedAvatar,
  CreatedConversation,
  List,
  Message,
  Persona,
  Speak,
  Turn,
  Voice,
} from "./types";

/**
 * The REST side of the API, typed from its schemas. A browser should not hold an API key: give it
 * none and call only the public routes (avatars, personas, voices), or proxy through your backend;
 * the conversation's client secret is what a browser talks with (`connect`).
 */

export interface ClientOptions {
  /** The API's origin, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`, never in a URL. */
  apiKey?: string | undefined;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

export class AvatarClient {
  private readonly baseUrl: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** A raw call: the response when it is 2xx, else the API's error thrown. */
  async request(method: string, path: string, init: { query?: Query; body?: unknown } = {}): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers.Authorization = `Bearer ${this.options.apiKey}`;
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await this.doFetch(url, { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
    } catch (err) {
      throw new AvatarApiError({ type: "connection", code: "connection.failed", message: err instanceof Error ? err.message : String(err), status: 0 });
    }
    if (!response.ok) throw await AvatarApiError.of(response);
    return response;
  }

  private async json<T>(method: string, path: string, init?: { query?: Query; body?: unknown }): Promise<T> {
    return (await (await this.request(method, path, init)).json()) as T;
  }

  listAvatars(query: { limit?: number; starting_after?: string; parent_id?: string; status?: string } = {}) {
    return this.json<List<Avatar>>("GET", "/v1/avatars", { query });
  }
  getAvatar(id: string) {
    return this.json<Avatar>("GET", `/v1/avatars/${encodeURIComponent(id)}`);
  }
  /** A custom avatar in `processing`; send its file with `uploadAvatarFile`. */
  createAvatar(body: CreateAvatar) {
    return this.json<CreatedAvatar>("POST", "/v1/avatars", { body });
  }
  /**
   * PUTs the file to the avatar's signed upload URL (no key: the URL is the authorisation). A Blob,
   * an ArrayBuffer or bytes carry their length, which the URL requires. Answers the avatar, still
   * `processing`: it becomes `ready` or `failed` (webhooks `avatar.ready`, `avatar.failed`).
   */
  async uploadAvatarFile(upload: CreatedAvatar["upload"], file: Blob | ArrayBuffer | ArrayBufferView): Promise<Avatar> {
    let response: Response;
    try {
      response = await this.doFetch(upload.url, { method: upload.method, body: file as BodyInit });
    } catch (err) {
      throw new AvatarApiError({ type: "connection", code: "connection.failed", message: err instanceof Error ? err.message : String(err), status: 0 });
    }
    if (!response.ok) throw await AvatarApiError.of(response);
    return (await response.json()) as Avatar;
  }
  listPersonas(query: { limit?: number; starting_after?: string; vertical?: string } = {}) {
    return this.json<List<Persona>>("GET", "/v1/personas", { query });
  }
  listVoices(query: { limit?: number; starting_after?: string; provider?: string; language?: string } = {}) {
    return this.json<List<Voice>>("GET", "/v1/tts/voices", { query });
  }
  /** A voice's sample (WAV), cached by the API. */
  async previewVoice(voiceId: string): Promise<ArrayBuffer> {
    return (await this.request("POST", "/v1/tts/preview", { body: { voice_id: voiceId } })).arrayBuffer();
  }
  async speak(body: Speak): Promise<Response> {
    return this.request("POST", "/v1/tts", { body });
  }
  createConversation(body: CreateConversation) {
    return this.json<CreatedConversation>("POST", "/v1/conversations", { body });
  }
  getConversation(id: string) {
    return this.json<Conversation & { messages: Message[] }>("GET", `/v1/conversations/${encodeURIComponent(id)}`);
  }
  listMessages(id: string, query: { limit?: number; starting_after?: string } = {}) {
    return this.json<List<Message>>("GET", `/v1/conversations/${encodeURIComponent(id)}/messages`, { query });
  }
  sendMessage(id: string, content: string) {
    return this.json<Turn>("POST", `/v1/conversations/${encodeURIComponent(id)}/messages`, { body: { content } });
  }
  endConversation(id: string) {
    return this.json<Conversation>("POST", `/v1/conversations/${encodeURIComponent(id)}/end`);
  }
}
