/**
 * Typed helpers over a site document: every client (editor, bots, XR, seed, load tests)
 * writes through these, so every replica holds the same layout, validated before it is
 * written. And the readers, which resolve the hierarchy the same way on every replica.
 */
import * as Y from 'yjs'
import { z } from 'zod'
import { Anchor, BuildingObject, describeIssue, fieldAllowed, Human, HUMAN_FIELDS, Id, OBJECT_FIELDS } from './domain.ts'
import { AtriumError } from '../errors.ts'
import { resolveHierarchy, subtree } from './hierarchy.ts'
import { copyPlain } from './plain.ts'

export class SchemaError extends AtriumError {
  override readonly name = 'SchemaError'
}

/**
 * The value, checked, as a copy of its own: what is written is what was checked, whatever
 * the caller does with its arrays afterwards (zod passes some nested values through).
 */
function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success) throw new SchemaError(`${what}: ${describeIssue(r.error)}`)
  return copyPlain(r.data)
}

export const objectsOf = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('objects')
export const anchorsOf = (doc: Y.Doc) => doc.getMap<Anchor>('anchors')
export const humansOf = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('humans')
const TEXT = z.string()

// ---- writes: checked against a draft, then applied ----

type DraftObject = { readonly type: unknown; readonly parentId: unknown }

/**
 * The document as it will be once the writes prepared so far are applied. Every write is
 * checked in two steps: `prepare*` checks it against the draft (its schema and the state it
 * needs: the object exists, its type, the id is free), records its effect there, and returns
 * the function that applies it. Nothing touches the document until those functions run, so
 * a batch (client/sdk/batch.ts) checks all its writes, each seeing the ones before it, and
 * applies none of them if one fails. The single helpers below are a draft of one write.
 */
export class Draft {
  /** Objects created, moved or deleted (null) by prepared writes. */
  private readonly objects = new Map<string, DraftObject | null>()
  /** Humans created by prepared writes. */
  private readonly humans = new Set<string>()

  constructor(readonly doc: Y.Doc) {}

  /** The object's type and parent pointer as stored (or as a prepared write leaves them); null when there is no entry. */
  object(id: string): DraftObject | null {
    if (this.objects.has(id)) return this.objects.get(id)!
    const map = objectsOf(this.doc).get(id)
    if (map === undefined) return null
    return map instanceof Y.Map ? { type: map.get('type'), parentId: map.get('parentId') } : { type: undefined, parentId: undefined }
  }

  setObject(id: string, object: DraftObject | null): void {
    this.objects.set(id, object)
  }

  /** Every object's parent pointer (entries that are not Y.Maps left out, as readObjects does). */
  parents(): Map<string, { readonly parentId: unknown }> {
    const out = new Map<string, { readonly parentId: unknown }>()
    for (const [id, map] of objectsOf(this.doc)) if (map instanceof Y.Map && !this.objects.has(id)) out.set(id, { parentId: map.get('parentId') })
    for (const [id, object] of this.objects) if (object) out.set(id, object)
    return out
  }

  hasHuman(id: string): boolean {
    return this.humans.has(id) || humansOf(this.doc).get(id) instanceof Y.Map
  }

  hasTranscript(id: string): boolean {
    if (this.humans.has(id)) return true
    const map = humansOf(this.doc).get(id)
    return map instanceof Y.Map && map.get('transcript') instanceof Y.Text
  }

  addHuman(id: string): void {
    this.humans.add(id)
  }
}

/** Applies one prepared write (inside the caller's transaction). */
export type Apply = () => void

export function prepareCreateObject(draft: Draft, id: string, object: BuildingObject): Apply {
  check(Id, id, 'object id')
  const valid = check(BuildingObject, object, `object ${id}`) as Record<string, unknown>
  if (draft.object(id)) throw new SchemaError(`object ${id} exists already`)
  draft.setObject(id, { type: valid.type, parentId: valid.parentId })
  return () => {
    const map = new Y.Map<unknown>()
    for (const [field, value] of Object.entries(valid)) map.set(field, value)
    objectsOf(draft.doc).set(id, map)
  }
}

export function prepareUpdateObject(draft: Draft, id: string, patch: Record<string, unknown>): Apply {
  const current = draft.object(id)
  if (!current) throw new SchemaError(`no object ${id}`)
  const type = OBJECT_FIELDS.type.safeParse(current.type)
  if (!type.success) throw new SchemaError(`object ${id} has no valid type (${String(current.type)}): it can only be deleted`)
  const fields: [string, unknown][] = []
  for (const [field, value] of Object.entries(patch)) {
    if (field === 'type' && value !== type.data) throw new SchemaError(`object ${id}: type cannot change (${type.data} → ${String(value)})`)
    if (!fieldAllowed(type.data, field)) throw new SchemaError(`object ${id}: a ${type.data} has no field ${JSON.stringify(field)}`)
    fields.push([field, check(OBJECT_FIELDS[field] as z.ZodType, value, `object ${id}.${field}`)])
  }
  const moved = fields.find(([field]) => field === 'parentId')
  if (moved) draft.setObject(id, { type: type.data, parentId: moved[1] })
  return () => {
    const map = objectsOf(draft.doc).get(id)!
    for (const [field, value] of fields) map.set(field, value)
  }
}

/** The objects a delete removes: `id` and, with `cascade`, everything under it as the draft resolves it. */
export function prepareDeleteObject(draft: Draft, id: string, { cascade = true } = {}): { readonly apply: Apply; readonly doomed: readonly string[] } {
  if (!draft.object(id)) return { apply: () => {}, doomed: [] }
  const doomed = cascade ? subtree(resolveHierarchy(draft.parents()), id) : [id]
  for (const x of doomed) draft.setObject(x, null)
  return {
    apply: () => {
      const objects = objectsOf(draft.doc)
      for (const x of doomed) objects.delete(x)
    },
    doomed,
  }
}

export function prepareSetAnchor(draft: Draft, id: string, anchor: Anchor): Apply {
  check(Id, id, 'anchor id')
  const valid = check(Anchor, anchor, `anchor ${id}`)
  return () => anchorsOf(draft.doc).set(id, valid)
}

export function prepareDeleteAnchor(draft: Draft, id: string): Apply {
  return () => anchorsOf(draft.doc).delete(id)
}

/** Creates a human, or replaces one with the same id (and its transcript). */
export function prepareCreateHuman(draft: Draft, id: string, human: Human, transcript = ''): Apply {
  check(Id, id, 'human id')
  const valid = check(Human, human, `human ${id}`)
  check(TEXT, transcript, `human ${id}.transcript`)
  draft.addHuman(id)
  return () => {
    const map = new Y.Map<unknown>()
    for (const [field, value] of Object.entries(valid)) map.set(field, value)
    map.set('transcript', new Y.Text(transcript))
    humansOf(draft.doc).set(id, map)
  }
}

export function prepareUpdateHuman(draft: Draft, id: string, patch: Partial<Human>): Apply {
  if (!draft.hasHuman(id)) throw new SchemaError(`no human ${id}`)
  const fields: [string, unknown][] = []
  for (const [field, value] of Object.entries(patch)) {
    if (!Object.hasOwn(HUMAN_FIELDS, field)) throw new SchemaError(`human ${id}: no field ${JSON.stringify(field)}`)
    fields.push([field, check(HUMAN_FIELDS[field as keyof typeof HUMAN_FIELDS] as z.ZodType, value, `human ${id}.${field}`)])
  }
  return () => {
    const map = humansOf(draft.doc).get(id)!
    for (const [field, value] of fields) map.set(field, value)
  }
}

export function prepareAppendTranscript(draft: Draft, id: string, text: string): Apply {
  if (!draft.hasTranscript(id)) throw new SchemaError(`no transcript for human ${id}`)
  check(TEXT, text, `human ${id}.transcript`)
  return () => {
    const transcript = humansOf(draft.doc).get(id)!.get('transcript') as Y.Text
    transcript.insert(transcript.length, text)
  }
}

// ---- the same writes, one at a time ----

/** Creates an object (one Y.Map, one key per field) after validating all of it. */
export function createObject(doc: Y.Doc, id: string, object: BuildingObject): void {
  prepareCreateObject(new Draft(doc), id, object)()
}

/** Changes some fields of an object; `type` cannot change. */
export function updateObject(doc: Y.Doc, id: string, patch: Record<string, unknown>): void {
  doc.transact(prepareUpdateObject(new Draft(doc), id, patch))
}

/** A move is one `parentId` write (concurrent moves resolve in the reader, see resolveHierarchy). */
export function moveObject(doc: Y.Doc, id: string, parentId: string | null): void {
  updateObject(doc, id, { parentId })
}

/** Deletes an object and, by default, everything under it (as this replica resolves it). Returns how many. */
export function deleteObject(doc: Y.Doc, id: string, options: { cascade?: boolean } = {}): number {
  const { apply, doomed } = prepareDeleteObject(new Draft(doc), id, options)
  if (doomed.length > 0) doc.transact(apply)
  return doomed.length
}

/**
 * An object as readers may rely on it, whatever is stored: a valid type, a parent id or null,
 * a name (the id when missing), and only those other fields whose values pass their schema.
 * Null when the type is missing or unknown (written before the server checked schemas).
 */
export function sanitizeObject(id: string, raw: Record<string, unknown>): BuildingObject | null {
  const type = OBJECT_FIELDS.type.safeParse(raw.type)
  if (!type.success) return null
  const parentId = OBJECT_FIELDS.parentId.safeParse(raw.parentId)
  const name = OBJECT_FIELDS.name.safeParse(raw.name)
  const out: BuildingObject = { type: type.data, parentId: parentId.success ? parentId.data : null, name: name.success ? name.data : id }
  for (const [field, value] of Object.entries(raw)) {
    if (field === 'type' || field === 'parentId' || field === 'name' || !fieldAllowed(type.data, field)) continue
    if (OBJECT_FIELDS[field].safeParse(value).success) (out as Record<string, unknown>)[field] = value
  }
  return out
}

export function readObject(doc: Y.Doc, id: string): BuildingObject | null {
  const map = objectsOf(doc).get(id)
  return map instanceof Y.Map ? (map.toJSON() as BuildingObject) : null
}

/** Every object as plain data (entries that are not Y.Maps are skipped). */
export function readObjects(doc: Y.Doc): Map<string, BuildingObject> {
  const out = new Map<string, BuildingObject>()
  for (const [id, map] of objectsOf(doc)) if (map instanceof Y.Map) out.set(id, map.toJSON() as BuildingObject)
  return out
}

export function setAnchor(doc: Y.Doc, id: string, anchor: Anchor): void {
  prepareSetAnchor(new Draft(doc), id, anchor)()
}

export function deleteAnchor(doc: Y.Doc, id: string): void {
  prepareDeleteAnchor(new Draft(doc), id)()
}

export function createHuman(doc: Y.Doc, id: string, human: Human, transcript = ''): void {
  prepareCreateHuman(new Draft(doc), id, human, transcript)()
}

export function updateHuman(doc: Y.Doc, id: string, patch: Partial<Human>): void {
  doc.transact(prepareUpdateHuman(new Draft(doc), id, patch))
}

export function appendTranscript(doc: Y.Doc, id: string, text: string): void {
  prepareAppendTranscript(new Draft(doc), id, text)()
}
