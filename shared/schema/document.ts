/**
 * Typed helpers over a site document: every client (editor, bots, XR, seed, load tests)
 * writes through these, so every replica holds the same layout, validated before it is
 * written. And the readers, which resolve the hierarchy the same way on every replica.
 */
import * as Y from 'yjs'
import type { z } from 'zod'
import { Anchor, BuildingObject, describeIssue, fieldAllowed, Human, HUMAN_FIELDS, Id, OBJECT_FIELDS, type ObjectType } from './domain.ts'
import { AtriumError } from '../errors.ts'

export class SchemaError extends AtriumError {
  override readonly name = 'SchemaError'
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success) throw new SchemaError(`${what}: ${describeIssue(r.error)}`)
  return r.data
}

export const objectsOf = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('objects')
export const anchorsOf = (doc: Y.Doc) => doc.getMap<Anchor>('anchors')
export const humansOf = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('humans')

/** Creates an object (one Y.Map, one key per field) after validating all of it. */
export function createObject(doc: Y.Doc, id: string, object: BuildingObject): void {
  check(Id, id, 'object id')
  const valid = check(BuildingObject, object, `object ${id}`) as Record<string, unknown>
  if (objectsOf(doc).has(id)) throw new SchemaError(`object ${id} exists already`)
  const map = new Y.Map<unknown>()
  for (const [field, value] of Object.entries(valid)) map.set(field, value)
  objectsOf(doc).set(id, map)
}

/** Changes some fields of an object; `type` cannot change. */
export function updateObject(doc: Y.Doc, id: string, patch: Record<string, unknown>): void {
  const map = objectsOf(doc).get(id)
  if (!map) throw new SchemaError(`no object ${id}`)
  const type = map.get('type') as ObjectType
  for (const [field, value] of Object.entries(patch)) {
    if (field === 'type' && value !== type) throw new SchemaError(`object ${id}: type cannot change (${type} → ${String(value)})`)
    if (!fieldAllowed(type, field)) throw new SchemaError(`object ${id}: a ${type} has no field ${JSON.stringify(field)}`)
    check(OBJECT_FIELDS[field] as z.ZodType, value, `object ${id}.${field}`)
  }
  doc.transact(() => {
    for (const [field, value] of Object.entries(patch)) map.set(field, value)
  })
}

/** A move is one `parentId` write (concurrent moves resolve in the reader, see resolveHierarchy). */
export function moveObject(doc: Y.Doc, id: string, parentId: string | null): void {
  updateObject(doc, id, { parentId })
}

/** Deletes an object and, by default, everything under it (as this replica resolves it). Returns how many. */
export function deleteObject(doc: Y.Doc, id: string, { cascade = true } = {}): number {
  const objects = objectsOf(doc)
  if (!objects.has(id)) return 0
  const doomed = cascade ? subtree(resolveHierarchy(readObjects(doc)), id) : [id]
  doc.transact(() => {
    for (const x of doomed) objects.delete(x)
  })
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
  check(Id, id, 'anchor id')
  anchorsOf(doc).set(id, check(Anchor, anchor, `anchor ${id}`))
}

export function deleteAnchor(doc: Y.Doc, id: string): void {
  anchorsOf(doc).delete(id)
}

export function createHuman(doc: Y.Doc, id: string, human: Human, transcript = ''): void {
  check(Id, id, 'human id')
  const valid = check(Human, human, `human ${id}`)
  const map = new Y.Map<unknown>()
  for (const [field, value] of Object.entries(valid)) map.set(field, value)
  map.set('transcript', new Y.Text(transcript))
  humansOf(doc).set(id, map)
}

export function updateHuman(doc: Y.Doc, id: string, patch: Partial<Human>): void {
  const map = humansOf(doc).get(id)
  if (!map) throw new SchemaError(`no human ${id}`)
  for (const [field, value] of Object.entries(patch)) {
    if (!(field in HUMAN_FIELDS)) throw new SchemaError(`human ${id}: no field ${JSON.stringify(field)}`)
    check(HUMAN_FIELDS[field as keyof typeof HUMAN_FIELDS] as z.ZodType, value, `human ${id}.${field}`)
  }
  doc.transact(() => {
    for (const [field, value] of Object.entries(patch)) map.set(field, value)
  })
}

export function appendTranscript(doc: Y.Doc, id: string, text: string): void {
  const transcript = humansOf(doc).get(id)?.get('transcript')
  if (!(transcript instanceof Y.Text)) throw new SchemaError(`no transcript for human ${id}`)
  transcript.insert(transcript.length, text)
}

// ---- the hierarchy, resolved deterministically ----

export interface Hierarchy {
  /** Effective parent of every object (null: top level). */
  readonly parent: ReadonlyMap<string, string | null>
  /** Children by parent (null: the top level), each list sorted by id. */
  readonly children: ReadonlyMap<string | null, readonly string[]>
  /** Objects not where their parentId says, and why: their parent is missing, or they closed a cycle. */
  readonly detached: ReadonlyMap<string, 'missing-parent' | 'cycle'>
}

/**
 * Resolves parent pointers into a tree the same way on every replica (it depends only on
 * the document's state, and replicas converge to the same state):
 * - a parentId that names no object: the object goes to the top level;
 * - a cycle (concurrent moves, A under B while B under A): the cycle's member with the
 *   smallest id goes to the top level, which breaks it; the rest stay under it.
 */
export function resolveHierarchy(objects: ReadonlyMap<string, { readonly parentId?: unknown }>): Hierarchy {
  const parent = new Map<string, string | null>()
  const detached = new Map<string, 'missing-parent' | 'cycle'>()
  for (const [id, o] of objects) {
    const p = typeof o.parentId === 'string' ? o.parentId : null
    if (p !== null && !objects.has(p)) {
      parent.set(id, null)
      detached.set(id, 'missing-parent')
    } else parent.set(id, p)
  }
  // Walk every chain once; a chain that comes back onto itself is a cycle. (Cycles of a
  // parent map are disjoint, and each is broken at its smallest id: the walk order does not matter.)
  const state = new Map<string, 1 | 2>() // 1: on the current path, 2: done
  for (const start of objects.keys()) {
    if (state.has(start)) continue
    const path: string[] = []
    let at: string | null = start
    while (at !== null && !state.has(at)) {
      state.set(at, 1)
      path.push(at)
      at = parent.get(at) ?? null
    }
    if (at !== null && state.get(at) === 1) {
      const cycle = path.slice(path.indexOf(at))
      const breaker = cycle.reduce((a, b) => (b < a ? b : a))
      parent.set(breaker, null)
      detached.set(breaker, 'cycle')
    }
    for (const id of path) state.set(id, 2)
  }
  const children = new Map<string | null, string[]>()
  for (const [id, p] of parent) {
    const list = children.get(p)
    if (list) list.push(id)
    else children.set(p, [id])
  }
  for (const list of children.values()) list.sort()
  return { parent, children, detached }
}

/** `id` and everything under it, parents before children. */
export function subtree(h: Hierarchy, id: string): string[] {
  const out: string[] = []
  const stack = [id]
  while (stack.length > 0) {
    const x = stack.pop()!
    out.push(x)
    const kids = h.children.get(x)
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!)
  }
  return out
}

/** The chain from the top level down to `id` (inclusive). */
export function pathTo(h: Hierarchy, id: string): string[] {
  const out: string[] = []
  for (let at: string | null = id; at !== null; at = h.parent.get(at) ?? null) out.unshift(at)
  return out
}
