import { z } from "@hono/zod-openapi";
import { PERSONA_VERTICALS } from "../../db/schema";
import { SttInput } from "../../durable-objects/conversation.protocol";
import { TimestampSchema } from "../../lib/openapi";
import { listSchema, paginationQuery } from "../../lib/pagination";
import { textField } from "../../lib/text";
import { ToolSchema, ToolsInput } from "../tools.schemas";

export const PersonaSchema = z
  .object({
    id: z.string().openapi({ example: "per_support_agent" }),
    object: z.literal("persona"),
    name: z.string().openapi({ example: "Customer Support Agent" }),
    vertical: z.enum(PERSONA_VERTICALS),
    description: z.string(),
    system_prompt: z.string(),
    greeting: z.string().nullable().openapi({ description: "Spoken when the first user joins a conversation; null says nothing." }),
    language: z.string().openapi({ example: "en" }),
    default_avatar_id: z.string().nullable().openapi({ example: "av_demo" }),
    default_voice_id: z.string().openapi({ example: "mock:warm" }),
    model: z.string().openapi({ example: "mock:echo" }),
    stt: z
      .string()
      .nullable()
      .openapi({ description: "Speech-to-text of its conversations (`provider:model`); null: `mock:default`.", example: "mock:default" }),
    tools: z.array(ToolSchema).openapi({ description: "What its conversations' model may call (see `CreateConversationRequest.tools`)." }),
    is_preset: z.boolean().openapi({ description: "Presets belong to the platform and are read-only." }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Persona");

export const PersonaListSchema = listSchema(PersonaSchema, "PersonaList");

export const DeletedPersonaSchema = z.object({ id: z.string(), object: z.literal("persona"), deleted: z.literal(true) }).openapi("DeletedPersona");

const vertical = z.enum(PERSONA_VERTICALS).openapi({ description: "Business vertical." });

export const ListPersonasQuery = z.strictObject({ ...paginationQuery, vertical: vertical.optional() });
export const ListVerticalQuery = z.strictObject({ ...paginationQuery });

export const VerticalParams = z.object({
  vertical: z.string().openapi({ param: { name: "vertical", in: "path" }, example: "support" }),
});
export const PersonaIdParams = z.object({
  persona_id: z.string().openapi({ param: { name: "persona_id", in: "path" }, example: "per_support_agent" }),
});

const LANGUAGE = /^[a-z]{2,3}(-[A-Z]{2})?$/;

export const personaFields = {
  name: textField({ max: 100 }).openapi({ example: "Returns desk" }),
  vertical,
  description: textField({ min: 0, max: 500 }).openapi({ description: "For people browsing personas." }),
  system_prompt: textField({ max: 10_000, multiline: true }).openapi({ description: "Instructions for the model, up to 10,000 characters." }),
  greeting: textField({ max: 1000, multiline: true }).nullable().openapi({ description: "Up to 1,000 characters; null for none." }),
  language: z.string().regex(LANGUAGE, { error: "must be a language tag such as 'en' or 'pt-BR'" }).openapi({ example: "en" }),
  default_avatar_id: z.string().min(1).nullable().openapi({ description: "An avatar visible to your organisation, or null.", example: "av_demo" }),
  default_voice_id: z.string().min(1).openapi({ description: "A voice id from GET /v1/tts/voices.", example: "mock:warm" }),
  model: z.string().min(1).openapi({ description: "A model id from GET /v1/models.", example: "mock:echo" }),
  stt: SttInput.nullable().openapi({
    description: "Speech-to-text of its conversations, `provider:model` (see `CreateConversationRequest.stt`); null for the default.",
    example: "mock:default",
  }),
  tools: ToolsInput,
};

export const CreatePersonaBody = z
  .strictObject({
    name: personaFields.name,
    vertical: personaFields.vertical,
    system_prompt: personaFields.system_prompt,
    description: personaFields.description.default(""),
    greeting: personaFields.greeting.default(null),
    language: personaFields.language.default("en"),
    default_avatar_id: personaFields.default_avatar_id.default("av_demo"),
    default_voice_id: personaFields.default_voice_id.default("mock:warm"),
    model: personaFields.model.default("mock:echo"),
    stt: personaFields.stt.default(null),
    tools: personaFields.tools.default([]),
  })
  .openapi("CreatePersonaRequest");

export const UpdatePersonaBody = z
  .strictObject({
    name: personaFields.name.optional(),
    vertical: personaFields.vertical.optional(),
    system_prompt: personaFields.system_prompt.optional(),
    description: personaFields.description.optional(),
    greeting: personaFields.greeting.optional(),
    language: personaFields.language.optional(),
    default_avatar_id: personaFields.default_avatar_id.optional(),
    default_voice_id: personaFields.default_voice_id.optional(),
    model: personaFields.model.optional(),
    stt: personaFields.stt.optional(),
    tools: personaFields.tools.optional().openapi({ description: "Replaces the whole list." }),
  })
  .openapi("UpdatePersonaRequest");
