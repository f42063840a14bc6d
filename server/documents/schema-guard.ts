/**
 * Server-side schema check of a client's update to a site document, before it is applied:
 * decode the update (no Y.Doc is touched), find where each new item will land (top-level
 * map, entry, field) the way Yjs will place it, and check keys and values against
 * shared/schema. Cost: one decode of the update and a few lookups per item (BENCHMARKS.md).
 *
 * Placement follows Yjs, not the update's word for it:
 * - each client's structs must come as one contiguous block (Yjs keeps only the last block
 *   of a client, and skips what the document already has);
 * - ids the document already has are looked up in the document, never in the update;
 *   only the new tail of each client counts as new;
 * - an item placed by its neighbour must have that neighbour now (no pending items: Yjs
 *   would integrate them later, where this check never looked), and both neighbours, when
 *   given, must agree;
 * - object checks are per map (the entry's Y.Map item), not per object id, so a second map
 *   for the same id cannot borrow the first one's type.
 * Deleting an object is allowed; deleting the fields a live object needs is not.
 */
import * as Y from 'yjs'
import type { z } from 'zod'
import { Anchor, describeIssue, fieldAllowed, HUMAN_FIELDS, Id, OBJECT_FIELDS, requiredFields, TOP_LEVEL, type ObjectType } from '../../shared/schema/domain.ts'

export class SchemaViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchemaViolation'
  }
}

/**
 * Where an item writes. `entryItem` identifies the entry's Y.Map (an id string), `live`
 * whether that map is in the document already (else it is created by this update).
 * `gone`: inside content the document has already garbage-collected (harmless).
 */
type Place =
  | { kind: 'entry'; root: string; key: string }
  | { kind: 'field'; root: string; entry: string; entryItem: string; live: Y.Map<unknown> | null; field: string }
  | { kind: 'inside'; root: string; entry: string; entryItem: string; field: string }
  | { kind: 'gone' }

type AnyItem = Y.Item | Y.GC

const ROOTS = new Set<string>(TOP_LEVEL)
const idString = (id: Y.ID) => `${id.client}:${id.clock}`

function fail(message: string): never {
  throw new SchemaViolation(message)
}

function validate(schema: z.ZodType, value: unknown, what: string): void {
  const r = schema.safeParse(value)
  if (!r.success) fail(`${what}: ${describeIssue(r.error)}`)
}

const samePlace = (a: Place, b: Place): boolean => {
  if (a.kind !== b.kind) return false
  if (a.kind === 'gone') return true
  if (a.kind === 'entry') return a.root === (b as typeof a).root && a.key === (b as typeof a).key
  return a.root === (b as typeof a).root && a.entryItem === (b as typeof a).entryItem && a.field === (b as typeof a).field
}

export function checkSiteUpdate(doc: Y.Doc, update: Uint8Array): void {
  const { structs, ds } = Y.decodeUpdate(update)
  const store = doc.store
  const stateOf = (client: number): number => {
    const list = store.clients.get(client)
    const last = list?.[list.length - 1]
    return last ? last.id.clock + last.length : 0
  }

  // 1. Shape: one contiguous block per client; keep only what the document does not have.
  const local = new Map<number, Y.Item[]>()
  const fresh: Y.Item[] = []
  let previous: number | null = null
  const next = new Map<number, number>()
  for (const s of structs) {
    const client = s.id.client
    if (client !== previous) {
      if (next.has(client)) fail('update lists one client in two blocks')
      previous = client
    } else if (s.id.clock !== next.get(client)) fail("update has a gap or an overlap in one client's structs")
    next.set(client, s.id.clock + s.length)
    if (!(s instanceof Y.Item)) continue
    if (s.id.clock + s.length <= stateOf(client)) continue // Yjs skips what the document has
    fresh.push(s)
    const list = local.get(client)
    if (list) list.push(s)
    else local.set(client, [s])
  }

  // 2. Where things are: ids the document has come from the document, new ones from the update.
  const find = (id: Y.ID): AnyItem | null => {
    if (id.clock < stateOf(id.client)) return Y.getItem(store, id) as AnyItem
    const list = local.get(id.client)
    if (!list) return null
    let lo = 0
    let hi = list.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const s = list[mid]!
      if (id.clock < s.id.clock) hi = mid - 1
      else if (id.clock >= s.id.clock + s.length) lo = mid + 1
      else return s
    }
    return null
  }
  type Container = { kind: 'root'; root: string } | { kind: 'map'; root: string; key: string; entryItem: string; live: Y.Map<unknown> | null } | Place
  const places = new Map<Y.Item, Place>()
  const placeOf = (item: AnyItem, depth = 0): Place => {
    if (item instanceof Y.GC) return { kind: 'gone' }
    const known = places.get(item)
    if (known) return known
    if (depth > 10_000) fail('update nests too deep')
    let place: Place
    const parent = item.parent as unknown
    if (parent instanceof Y.AbstractType) {
      // An item of the document: its parent is a live type.
      place = within(parent._item === null ? { kind: 'root', root: Y.findRootTypeKey(parent) } : containerOf(parent._item, depth), item.parentSub)
    } else if (typeof parent === 'string') place = within({ kind: 'root', root: parent }, item.parentSub)
    else if (parent instanceof Y.ID) {
      const p = find(parent)
      if (!p) fail('update writes into content the server does not have')
      place = within(containerOf(p, depth), item.parentSub)
    } else {
      // Yjs leaves the parent out when the item has a neighbour: same container, same key.
      const left = item.origin ? find(item.origin) : null
      const right = item.rightOrigin ? find(item.rightOrigin) : null
      if ((item.origin && !left) || (item.rightOrigin && !right)) fail('update refers to content the server does not have')
      if (!left && !right) fail('update has an item with no place')
      place = placeOf((left ?? right)!, depth + 1)
      if (left && right && !samePlace(place, placeOf(right, depth + 1))) fail('update has an item whose neighbours disagree on where it is')
    }
    places.set(item, place)
    return place
  }
  // What an item's type content contains: an entry's Y.Map holds fields; deeper, a field's content.
  const containerOf = (item: AnyItem, depth: number): Container => {
    const place = placeOf(item, depth + 1)
    if (place.kind !== 'entry' || item instanceof Y.GC) return place
    const type = item.content instanceof Y.ContentType ? item.content.type : null
    const live = item.id.clock < stateOf(item.id.client) && !item.deleted && type?.constructor === Y.Map ? (type as Y.Map<unknown>) : null
    return { kind: 'map', root: place.root, key: place.key, entryItem: idString(item.id), live }
  }
  const within = (c: Container, key: string | null): Place => {
    switch (c.kind) {
      case 'gone':
        return c
      case 'root':
        if (!ROOTS.has(c.root)) fail(`unknown top-level ${JSON.stringify(c.root)} (a site document has ${TOP_LEVEL.join(', ')})`)
        if (key === null) fail(`top-level ${JSON.stringify(c.root)} is a map, not a list`)
        return { kind: 'entry', root: c.root, key }
      case 'map':
        if (key === null) fail(`${c.root}/${c.key} is a map, not a list`)
        return { kind: 'field', root: c.root, entry: c.key, entryItem: c.entryItem, live: c.live, field: key }
      case 'entry':
        return fail(`${c.root}/${c.key} holds no nested content`)
      case 'field':
      case 'inside':
        return { kind: 'inside', root: c.root, entry: c.entry, entryItem: c.entryItem, field: c.field }
    }
  }

  // 3. Every new item: placed (this also checks top-level names, for deleted content too).
  const newTypes = new Map<string, unknown>()
  const created = new Map<string, { id: string; fields: Set<string> }>()
  for (const s of fresh) {
    const place = placeOf(s)
    if (s.content instanceof Y.ContentDeleted) continue
    if (place.kind === 'entry' && place.root === 'objects') created.set(idString(s.id), { id: place.key, fields: new Set() })
  }
  for (const s of fresh) {
    const place = places.get(s)!
    if (s.content instanceof Y.ContentDeleted || place.kind !== 'field' || place.root !== 'objects') continue
    created.get(place.entryItem)?.fields.add(place.field)
    if (place.field === 'type' && s.content instanceof Y.ContentAny) newTypes.set(place.entryItem, s.content.arr[0])
  }

  // 4. Every new value against the schema.
  for (const s of fresh) {
    const place = places.get(s)!
    const content = s.content
    if (content instanceof Y.ContentDeleted) continue
    switch (place.kind) {
      case 'gone':
        break
      case 'entry': {
        validate(Id, place.key, `${place.root} id`)
        if (place.root === 'anchors') {
          if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) fail(`anchors/${place.key} must be a plain value`)
          validate(Anchor, content.arr[0], `anchor ${place.key}`)
        } else if (!(content instanceof Y.ContentType) || content.type.constructor !== Y.Map) fail(`${place.root}/${place.key} must be a Y.Map`)
        break
      }
      case 'field': {
        const what = `${place.root}/${place.entry}.${place.field}`
        if (place.root === 'objects') {
          if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) fail(`${what} must be a plain value`)
          let type: unknown
          if (place.live) {
            type = place.live.get('type')
            if (place.field === 'type' && content.arr[0] !== type) fail(type === undefined ? `${what}: an object's type is set when it is created` : `${what}: an object's type cannot change`)
          } else type = newTypes.get(place.entryItem)
          validate(OBJECT_FIELDS.type, type, `objects/${place.entry}.type`)
          if (!fieldAllowed(type as ObjectType, place.field)) fail(`${what}: a ${String(type)} has no field ${JSON.stringify(place.field)}`)
          validate(OBJECT_FIELDS[place.field as keyof typeof OBJECT_FIELDS] as z.ZodType, content.arr[0], what)
        } else if (place.root === 'humans') {
          if (place.field === 'transcript') {
            if (!(content instanceof Y.ContentType) || content.type.constructor !== Y.Text) fail(`${what} must be a Y.Text`)
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

  // 5. A new object comes with everything its type needs.
  for (const [entryItem, { id, fields }] of created) {
    const type = newTypes.get(entryItem) as ObjectType | undefined
    if (!type) fail(`objects/${id}: a new object needs a type`)
    for (const need of requiredFields(type)) if (!fields.has(need)) fail(`objects/${id}: a new ${type} needs ${need}`)
  }

  // 6. Deletions: whole objects may go; the fields a live object needs may not (an overwrite
  // deletes the old value too: that is fine when this update writes the new one).
  const written = new Set<string>()
  for (const s of fresh) {
    const place = places.get(s)!
    if (place.kind === 'field' && !(s.content instanceof Y.ContentDeleted)) written.add(`${place.entryItem}|${place.field}`)
  }
  const deleted = (id: Y.ID): boolean => (ds.clients.get(id.client) ?? []).some((r) => id.clock >= r.clock && id.clock < r.clock + r.len)
  for (const [client, ranges] of ds.clients) {
    const list = store.clients.get(client)
    if (!list) continue
    for (const range of ranges) {
      const end = Math.min(range.clock + range.len, stateOf(client))
      if (range.clock >= end) continue
      for (let i = Y.findIndexSS(list, range.clock); i < list.length && list[i]!.id.clock < end; i++) {
        const item = list[i]!
        if (!(item instanceof Y.Item) || item.deleted || item.parentSub === null) continue
        const map = item.parent as Y.AbstractType<unknown>
        const entry = map?._item
        if (!(map instanceof Y.Map) || !entry || entry.deleted || deleted(entry.id)) continue
        if (!(entry.parent instanceof Y.AbstractType) || entry.parent._item !== null || Y.findRootTypeKey(entry.parent) !== 'objects') continue
        if ((map as Y.Map<unknown>)._map.get(item.parentSub) !== item) continue // an old, overwritten value
        if (written.has(`${idString(entry.id)}|${item.parentSub}`)) continue
        const type = map.get('type') as ObjectType | undefined
        if ((requiredFields(type) as readonly string[]).includes(item.parentSub)) fail(`objects/${entry.parentSub}.${item.parentSub}: a ${type ?? 'object'} needs it (delete the object instead)`)
      }
    }
  }
}
