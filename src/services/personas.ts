import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { type PersonaRow, type PersonaVertical, personas } from "../db/schema";
import { ApiError, notFound, quote } from "../lib/errors";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/logger";
import { afterCursor, checkCursor } from "../lib/pagination";
import { requireModel } from "../providers/llm";
import { parseSttModel } from "../providers/stt";
import { getAvatar } from "./avatars";
import { resolveVoice } from "./voices";

/** A caller sees the presets (no owner) and, with an API key, its own org's personas. */
const visibleTo = (orgId: string | undefined, table = "personas") => {
  const t = sql.identifier(table);
  return orgId === undefined ? sql`${t}.owner_org_id IS NULL` : sql`(${t}.owner_org_id IS NULL OR ${t}.owner_org_id = ${orgId})`;
};

export interface PersonaPage {
  limit: number;
  startingAfter?: string | undefined;
  vertical?: PersonaVertical | undefined;
}

/** A page of visible personas, newest first, ties broken by id; fetches `limit + 1` rows. */
export async function listPersonas(db: Db, orgId: string | undefined, page: PersonaPage): Promise<PersonaRow[]> {
  const conditions: (SQL | undefined)[] = [
    visibleTo(orgId),
    page.vertical === undefined ? undefined : eq(personas.vertical, page.vertical),
    page.startingAfter === undefined ? undefined : afterCursor("personas", page.startingAfter, (alias) => visibleTo(orgId, alias)),
  ];
  const rows = await db
    .select()
    .from(personas)
    .where(and(...conditions))
    .orderBy(desc(personas.createdAt), desc(personas.id))
    .limit(page.limit + 1)
    .all();
  return checkCursor(rows, page.startingAfter, async (id) => (await getPersona(db, orgId, id)) !== undefined);
}

export const getPersona = (db: Db, orgId: string | undefined, id: string) =>
  db
    .select()
    .from(personas)
    .where(and(eq(personas.id, id), visibleTo(orgId)))
    .get();

export interface PersonaFields {
  name: string;
  vertical: PersonaVertical;
  description: string;
  system_prompt: string;
  greeting: string | null;
  language: string;
  default_avatar_id: string | null;
  default_voice_id: string;
  model: string;
  stt: string | null;
}

/**
 * The ids a persona points at must exist for the org: a known model (`422 model.unknown`), a known
 * voice (`422 voice.unknown`) and an avatar the org can see (`404 avatar.not_found`, exactly as if
 * it did not exist), each naming the field.
 */
async function checkReferences({ db, config, log }: Deps, orgId: string, fields: Partial<PersonaFields>) {
  if (fields.model !== undefined) requireModel(fields.model, "model");
  if (fields.default_voice_id !== undefined) await resolveVoice(fields.default_voice_id, { config, log }, "default_voice_id");
  // Known, not necessarily configured: that is checked when a conversation uses it.
  if (fields.stt !== undefined && fields.stt !== null && !parseSttModel(fields.stt)) {
    throw new ApiError("model.unknown", `No speech-to-text model ${quote(fields.stt)}.`, { param: "stt" });
  }
  const avatarId = fields.default_avatar_id;
  if (avatarId !== undefined && avatarId !== null && !(await getAvatar(db, orgId, avatarId))) {
    throw new ApiError("avatar.not_found", `No avatar with id ${quote(avatarId)}.`, { param: "default_avatar_id" });
  }
}

const toColumns = (f: Partial<PersonaFields>) => ({
  ...(f.name === undefined ? {} : { name: f.name }),
  ...(f.vertical === undefined ? {} : { vertical: f.vertical }),
  ...(f.description === undefined ? {} : { description: f.description }),
  ...(f.system_prompt === undefined ? {} : { systemPrompt: f.system_prompt }),
  ...(f.greeting === undefined ? {} : { greeting: f.greeting }),
  ...(f.language === undefined ? {} : { language: f.language }),
  ...(f.default_avatar_id === undefined ? {} : { defaultAvatarId: f.default_avatar_id }),
  ...(f.default_voice_id === undefined ? {} : { defaultVoiceId: f.default_voice_id }),
  ...(f.model === undefined ? {} : { model: f.model }),
  ...(f.stt === undefined ? {} : { stt: f.stt }),
});

/** Writes need the settings too: a voice may be one of a configured provider's account. */
export interface Deps {
  db: Db;
  config: Config;
  log: Logger;
}

export async function createPersona(deps: Deps, orgId: string, fields: PersonaFields): Promise<PersonaRow> {
  const { db } = deps;
  await checkReferences(deps, orgId, fields);
  const now = Date.now();
  const [row] = await db
    .insert(personas)
    .values({
      id: newId("per"),
      ownerOrgId: orgId,
      name: fields.name,
      vertical: fields.vertical,
      description: fields.description,
      systemPrompt: fields.system_prompt,
      greeting: fields.greeting,
      language: fields.language,
      defaultAvatarId: fields.default_avatar_id,
      defaultVoiceId: fields.default_voice_id,
      model: fields.model,
      stt: fields.stt,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** The org's own persona, for a change: another org's is `404`, a preset `403 persona.read_only`. */
async function ownPersona(db: Db, orgId: string, id: string): Promise<PersonaRow> {
  const row = await getPersona(db, orgId, id);
  if (!row) throw notFound("persona", id);
  if (row.ownerOrgId === null) throw new ApiError("persona.read_only", `${id} is a preset; create your own persona to change it.`);
  return row;
}

export async function updatePersona(deps: Deps, orgId: string, id: string, patch: Partial<PersonaFields>): Promise<PersonaRow> {
  const { db } = deps;
  const current = await ownPersona(db, orgId, id);
  await checkReferences(deps, orgId, patch);
  const columns = toColumns(patch);
  if (Object.keys(columns).length === 0) return current;
  const [row] = await db
    .update(personas)
    .set({ ...columns, updatedAt: Date.now() })
    .where(and(eq(personas.id, id), eq(personas.ownerOrgId, orgId)))
    .returning();
  if (!row) throw notFound("persona", id);
  return row;
}

export async function deletePersona(db: Db, orgId: string, id: string): Promise<void> {
  await ownPersona(db, orgId, id);
  await db.delete(personas).where(and(eq(personas.id, id), eq(personas.ownerOrgId, orgId)));
}
