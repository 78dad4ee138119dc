/**
 * The avatar API's TypeScript client, for browsers and Node (no framework, no dependencies): REST
 * typed from the API's schemas, a conversation socket that reconnects and de-duplicates on its own,
 * and, in browsers, the avatar's voice out (Web Audio) and the user's voice in (an AudioWorklet).
 */

export { Microphone } from "./audio-in";
export { AudioPlayer } from "./audio-out";
export { type ConnectionEvent, type ConnectOptions, ConversationConnection, connect, type SocketFactory, type SocketLike } from "./conversation";
export { AvatarApiError } from "./errors";
export { AvatarClient, type ClientOptions } from "./rest";
export type * from "./types";
