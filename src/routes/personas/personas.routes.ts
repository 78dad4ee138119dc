import { jsonResponse } from "../../lib/openapi";
import { PUBLIC_CACHE_HEADERS } from "../../middleware/public-cache";
import { defineRoute } from "../define-route";
import {
  CreatePersonaBody,
  DeletedPersonaSchema,
  ListPersonasQuery,
  ListVerticalQuery,
  PersonaIdParams,
  PersonaListSchema,
  PersonaSchema,
  UpdatePersonaBody,
  VerticalParams,
} from "./personas.schemas";

const tags = ["Personas"];
const json = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const listPersonas = defineRoute("public_or_api_key", {
  method: "get",
  path: "/v1/personas",
  operationId: "listPersonas",
  tags,
  summary: "List personas",
  description: "The presets, newest first; with an API key your organisation's own personas too.",
  request: { query: ListPersonasQuery },
  responses: { 200: jsonResponse(PersonaListSchema, "A page of personas.", PUBLIC_CACHE_HEADERS) },
});

export const listVertical = defineRoute("public_or_api_key", {
  method: "get",
  path: "/v1/personas/{vertical}",
  operationId: "listVerticalPersonas",
  tags,
  summary: "List the personas of one vertical",
  description: "An unknown vertical is `404 vertical.not_found`, whose message lists the valid ones.",
  request: { params: VerticalParams, query: ListVerticalQuery },
  responses: { 200: jsonResponse(PersonaListSchema, "A page of personas.", PUBLIC_CACHE_HEADERS) },
  errors: ["vertical.not_found"],
});

export const getPersona = defineRoute("public_or_api_key", {
  method: "get",
  path: "/v1/personas/id/{persona_id}",
  operationId: "getPersona",
  tags,
  summary: "Retrieve a persona",
  description: "A preset, or (with an API key) one of your organisation's; another organisation's is `404`.",
  request: { params: PersonaIdParams },
  responses: { 200: jsonResponse(PersonaSchema, "The persona.") },
  errors: ["persona.not_found"],
});

export const createPersona = defineRoute("api_key", {
  method: "post",
  path: "/v1/personas",
  operationId: "createPersona",
  tags,
  summary: "Create a persona for your organisation",
  description:
    "`model` and `default_voice_id` must be known ids (`422 model.unknown` / `voice.unknown`), `default_avatar_id` an avatar your organisation can see (`404 avatar.not_found`); each error names its `param`; `stt`, when set, a known speech-to-text model (`422 model.unknown`; whether its provider is configured is checked when a conversation uses it). Defaults: `mock:echo`, `mock:warm`, `av_demo`, `en`, `stt` null (`mock:default`).",
  request: { body: json(CreatePersonaBody) },
  responses: { 201: jsonResponse(PersonaSchema, "The new persona.") },
  errors: ["model.unknown", "voice.unknown", "avatar.not_found"],
});

export const updatePersona = defineRoute("api_key", {
  method: "patch",
  path: "/v1/personas/id/{persona_id}",
  operationId: "updatePersona",
  tags,
  summary: "Update one of your organisation's personas",
  description: "Only the fields sent change. Presets are `403 persona.read_only`.",
  request: { params: PersonaIdParams, body: json(UpdatePersonaBody) },
  responses: { 200: jsonResponse(PersonaSchema, "The updated persona.") },
  errors: ["persona.not_found", "persona.read_only", "model.unknown", "voice.unknown", "avatar.not_found"],
});

export const deletePersona = defineRoute("api_key", {
  method: "delete",
  path: "/v1/personas/id/{persona_id}",
  operationId: "deletePersona",
  tags,
  summary: "Delete one of your organisation's personas",
  description: "Presets are `403 persona.read_only`. Conversations that used it keep their own copy of its settings.",
  request: { params: PersonaIdParams },
  responses: { 200: jsonResponse(DeletedPersonaSchema, "`{id, object, deleted: true}`.") },
  errors: ["persona.not_found", "persona.read_only"],
});
