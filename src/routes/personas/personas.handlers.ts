import type { Context } from "hono";
import { PERSONA_VERTICALS, type PersonaRow, type PersonaVertical } from "../../db/schema";
import { type ToolSpec, toolJson } from "../../db/tools";
import type { AppEnv } from "../../env";
import { ApiError, notFound, quote } from "../../lib/errors";
import { toPage } from "../../lib/pagination";
import { isoSeconds } from "../../lib/time";
import { publicCached } from "../../middleware/public-cache";
import * as personas from "../../services/personas";
import type { HandlerOf } from "../define-route";
import type * as routes from "./personas.routes";

type Handler<R extends keyof typeof routes> = HandlerOf<typeof routes, R>;

/** `revealed`: the tools whose generated secret this response shows (the write that generated it). */
export const toJson = (p: PersonaRow, revealed: readonly string[] = []) => ({
  id: p.id,
  object: "persona" as const,
  name: p.name,
  vertical: p.vertical,
  description: p.description,
  system_prompt: p.systemPrompt,
  greeting: p.greeting,
  language: p.language,
  default_avatar_id: p.defaultAvatarId,
  default_voice_id: p.defaultVoiceId,
  model: p.model,
  stt: p.stt,
  tools: (JSON.parse(p.tools) as ToolSpec[]).map((t) => toolJson(t, revealed.includes(t.name))),
  is_preset: p.ownerOrgId === null,
  created_at: isoSeconds(p.createdAt),
  updated_at: isoSeconds(p.updatedAt),
});

const writeDeps = (c: Context<AppEnv>) => ({ db: c.get("db"), config: c.get("config"), log: c.get("log") });

const isVertical = (v: string): v is PersonaVertical => (PERSONA_VERTICALS as readonly string[]).includes(v);

export const listPersonas: Handler<"listPersonas"> = (c) =>
  publicCached(c, async () => {
    const q = c.req.valid("query");
    const rows = await personas.listPersonas(c.get("db"), c.get("auth")?.org.id, { limit: q.limit, startingAfter: q.starting_after, vertical: q.vertical });
    return c.json(toPage(rows, q.limit, toJson), 200);
  });

export const listVertical: Handler<"listVertical"> = (c) =>
  publicCached(c, async () => {
    const { vertical } = c.req.valid("param");
    if (!isVertical(vertical)) {
      throw new ApiError("vertical.not_found", `No vertical ${quote(vertical)}. The verticals are: ${PERSONA_VERTICALS.join(", ")}.`);
    }
    const q = c.req.valid("query");
    const rows = await personas.listPersonas(c.get("db"), c.get("auth")?.org.id, { limit: q.limit, startingAfter: q.starting_after, vertical });
    return c.json(toPage(rows, q.limit, toJson), 200);
  });

export const getPersona: Handler<"getPersona"> = async (c) => {
  const { persona_id } = c.req.valid("param");
  const row = await personas.getPersona(c.get("db"), c.get("auth")?.org.id, persona_id);
  if (!row) throw notFound("persona", persona_id);
  return c.json(toJson(row), 200);
};

export const createPersona: Handler<"createPersona"> = async (c) => {
  const { row, revealed } = await personas.createPersona(writeDeps(c), c.get("auth").org.id, c.req.valid("json"));
  return c.json(toJson(row, revealed), 201);
};

export const updatePersona: Handler<"updatePersona"> = async (c) => {
  const { persona_id } = c.req.valid("param");
  const { row, revealed } = await personas.updatePersona(writeDeps(c), c.get("auth").org.id, persona_id, c.req.valid("json"));
  return c.json(toJson(row, revealed), 200);
};

export const deletePersona: Handler<"deletePersona"> = async (c) => {
  const { persona_id } = c.req.valid("param");
  await personas.deletePersona(c.get("db"), c.get("auth").org.id, persona_id);
  return c.json({ id: persona_id, object: "persona" as const, deleted: true as const }, 200);
};
