import type { z } from "@hono/zod-openapi";
import type { ClientEvent, ServerEvent, ServerEventType } from "../durable-objects/conversation.protocol";
import type { AvatarSchema, CreateAvatarBody, CreatedAvatarSchema } from "../routes/avatars/avatars.schemas";
import type {
  ConversationSchema,
  CreateConversationBody,
  CreatedConversationSchema,
  MessageSchema,
  SendMessageBody,
  TurnSchema,
} from "../routes/conversations/conversations.schemas";
import type { PersonaSchema } from "../routes/personas/personas.schemas";
import type { SpeakBody, VoiceSchema } from "../routes/tts/tts.schemas";

/**
 * The client's types, taken from the API's own schemas and protocol (type-only imports: nothing of
 * the server reaches the client's bundle), so a change of the contract is a change of the client.
 */

export type Avatar = z.infer<typeof AvatarSchema>;
export type CreateAvatar = z.input<typeof CreateAvatarBody>;
export type CreatedAvatar = z.infer<typeof CreatedAvatarSchema>;
export type Persona = z.infer<typeof PersonaSchema>;
export type Voice = z.infer<typeof VoiceSchema>;
export type Conversation = z.infer<typeof ConversationSchema>;
export type CreatedConversation = z.infer<typeof CreatedConversationSchema>;
export type CreateConversation = z.input<typeof CreateConversationBody>;
export type Message = z.infer<typeof MessageSchema>;
export type SendMessage = z.input<typeof SendMessageBody>;
export type Turn = z.infer<typeof TurnSchema>;
export type Speak = z.input<typeof SpeakBody>;
export type { ClientEvent, ServerEvent, ServerEventType };

export interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
