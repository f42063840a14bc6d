/**
 * Server-side schema check of a client's update to a site document, before it is applied:
 * decode the update (no Y.Doc is touched), find where each new item writes (which
 * top-level map, which entry, which field) from its parent or, when Yjs left that out, its
 * neighbour, looked up in the update itself or in the document, and check the key and the
 * value against shared/schema. Deletions are allowed. Cost: one decode of the update and a
 * few map lookups per item (BENCHMARKS.md measures it against the plain apply).
 */
import * as Y from 'yjs'
import { Anchor, describeIssue, fieldAllowed, HUMAN_FIELDS, Id, OBJECT_FIELDS, TOP_LEVEL, TYPE_FIELDS, type ObjectType } from '../../shared/schema/domain.ts'
import type { z } from 'zod'

export class SchemaViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchemaViolation'
  }
}

/** Where an item writes. `gone`: inside content that is already garbage-collected (harmless). */
type Place =
  | { kind: 'entry'; root: string; key: string }
  | { kind: 'field'; root: string; entry: string; field: string }
  | { kind: 'inside'; root: string; entry: string; field: string }
  | { kind: 'gone' }

type AnyItem = Y.Item | Y.GC

const ROOTS = new Set<string>(TOP_LEVEL)

function fail(message: string): never {
  throw new SchemaViolation(message)
}

function validate(schema: z.ZodType, value: unknown, what: string): void {
  const r = schema.safeParse(value)
  if (!r.success) fail(`${what}: ${describeIssue(r.error)}`)
}

export function checkSiteUpdate(doc: Y.Doc, update: Uint8Array): void {
  const { structs } = Y.decodeUpdate(update)
  const local = new Map<number, Y.Item[]>()
  for (const s of structs) {
    if (!(s instanceof Y.Item)) continue
    const list = local.get(s.id.client)
    if (list) list.push(s)
    else local.set(s.id.client, [s])
  }
  const find = (id: Y.ID): AnyItem | null => {
    const list = local.get(id.client)
    if (list) {
      // An update holds each client's structs in clock order: binary search.
      let lo = 0
      let hi = list.length - 1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        const s = list[mid]!
        if (id.clock < s.id.clock) hi = mid - 1
        else if (id.clock >= s.id.clock + s.length) lo = mid + 1
        else return s
      }
    }
    const mine = doc.store.clients.get(id.client)
    const last = mine?.[mine.length - 1]
    if (!last || id.clock >= last.id.clock + last.length) return null
    return Y.getItem(doc.store, id) as AnyItem
  }
  const places = new Map<Y.Item, Place>()
  const placeOf = (item: AnyItem, depth = 0): Place => {
    if (item instanceof Y.GC) return { kind: 'gone' }
    const known = places.get(item)
    if (known) return known
    if (depth > 1000) fail('update nests too deep')
    let place: Place
    const parent = item.parent as unknown
    if (parent instanceof Y.AbstractType) place = within(containerOf(parent, depth), item.parentSub)
    else if (typeof parent === 'string') place = within({ kind: 'root', root: parent }, item.parentSub)
    else if (parent instanceof Y.ID) {
      const p = find(parent)
      if (!p) fail('update writes into content the server does not have')
      place = within(containerOfItem(p, depth), item.parentSub)
    } else {
      // Yjs leaves the parent out when the item has a neighbour: same container, same key.
      const neighbour = (item.origin && find(item.origin)) || (item.rightOrigin && find(item.rightOrigin))
      if (!neighbour) fail('update refers to content the server does not have')
      place = placeOf(neighbour, depth + 1)
    }
    places.set(item, place)
    return place
  }
  type Container = { kind: 'root'; root: string } | Place
  const containerOf = (type: Y.AbstractType<unknown>, depth: number): Container => {
    if (type._item === null) return { kind: 'root', root: Y.findRootTypeKey(type) }
    return containerOfItem(type._item, depth)
  }
  // The container an item's type content makes: its own place, one level down.
  const containerOfItem = (item: AnyItem, depth: number): Container => placeOf(item, depth + 1)
  const within = (c: Container, key: string | null): Place => {
    switch (c.kind) {
      case 'gone':
        return c
      case 'root':
        if (key === null) fail(`top-level ${JSON.stringify(c.root)} is a map, not a list`)
        return { kind: 'entry', root: c.root, key }
      case 'entry':
        if (key === null) fail(`${c.root}/${c.key} is a map, not a list`)
        return { kind: 'field', root: c.root, entry: c.key, field: key }
      case 'field':
      case 'inside':
        return { kind: 'inside', root: c.root, entry: c.entry, field: c.field }
    }
  }

  // Pass 1: where everything writes; the object types this update sets.
  const newTypes = new Map<string, unknown>()
  const created = new Map<string, Set<string>>()
  for (const s of structs) {
    if (!(s instanceof Y.Item) || s.content instanceof Y.ContentDeleted) continue
    const place = placeOf(s)
    if (place.kind === 'field' && place.root === 'objects') {
      if (place.field === 'type') newTypes.set(place.entry, s.content.getContent()[0])
      created.get(place.entry)?.add(place.field)
    }
    if (place.kind === 'entry' && place.root === 'objects') created.set(place.key, created.get(place.key) ?? new Set())
  }
  // Fields written after the entry was created in this same update (pass 1 saw them before or after).
  for (const s of structs) {
    if (!(s instanceof Y.Item) || s.content instanceof Y.ContentDeleted) continue
    const place = places.get(s)!
    if (place.kind === 'field' && place.root === 'objects') created.get(place.entry)?.add(place.field)
  }

  // Pass 2: every write against the schema.
  const objects = doc.getMap<Y.Map<unknown>>('objects')
  for (const s of structs) {
    if (!(s instanceof Y.Item) || s.content instanceof Y.ContentDeleted) continue
    const place = places.get(s)!
    const content = s.content
    switch (place.kind) {
      case 'gone':
        break
      case 'entry': {
        if (!ROOTS.has(place.root)) fail(`unknown top-level ${JSON.stringify(place.root)} (a site document has ${TOP_LEVEL.join(', ')})`)
        validate(Id, place.key, `${place.root} id`)
        if (place.root === 'anchors') {
          if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) fail(`anchors/${place.key} must be a plain value`)
          validate(Anchor, content.arr[0], `anchor ${place.key}`)
        } else if (!(content instanceof Y.ContentType) || !(content.type instanceof Y.Map)) fail(`${place.root}/${place.key} must be a Y.Map`)
        break
      }
      case 'field': {
        const what = `${place.root}/${place.entry}.${place.field}`
        if (place.root === 'objects') {
          const existing = objects.get(place.entry)
          const storedType = existing instanceof Y.Map ? existing.get('type') : undefined
          const type = (newTypes.get(place.entry) ?? storedType) as ObjectType | undefined
          if (storedType !== undefined && newTypes.has(place.entry) && newTypes.get(place.entry) !== storedType) fail(`${what}: an object's type cannot change`)
          if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) fail(`${what} must be a plain value`)
          validate(OBJECT_FIELDS.type, type, `objects/${place.entry}.type`)
          if (!fieldAllowed(type!, place.field)) fail(`${what}: a ${type} has no field ${JSON.stringify(place.field)}`)
          validate(OBJECT_FIELDS[place.field as keyof typeof OBJECT_FIELDS] as z.ZodType, content.arr[0], what)
        } else if (place.root === 'humans') {
          if (place.field === 'transcript') {
            if (!(content instanceof Y.ContentType) || !(content.type instanceof Y.Text)) fail(`${what} must be a Y.Text`)
          } else {
            const schema = HUMAN_FIELDS[place.field as keyof typeof HUMAN_FIELDS] as z.ZodType | undefined
            if (!schema) fail(`${what}: a human has no field ${JSON.stringify(place.field)}`)
            if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) fail(`${what} must be a plain value`)
            validate(schema, content.arr[0], what)
          }
        } else fail(`${place.root}/${place.entry} is a plain value; it has no fields`)
        break
      }
      case 'inside':
        if (!(place.root === 'humans' && place.field === 'transcript')) fail(`${place.root}/${place.entry}.${place.field} holds no nested content`)
        if (!(content instanceof Y.ContentString || content instanceof Y.ContentFormat)) fail(`transcript of ${place.entry} holds text only`)
        break
    }
  }
  // A new object comes with everything its type needs.
  for (const [id, fields] of created) {
    const type = newTypes.get(id) as ObjectType | undefined
    if (!type) fail(`objects/${id}: a new object needs a type`)
    for (const need of ['parentId', 'name', ...TYPE_FIELDS[type].required]) if (!fields.has(need)) fail(`objects/${id}: a new ${type} needs ${need}`)
  }
}
