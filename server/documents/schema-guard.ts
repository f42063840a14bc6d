/**
 * Server-side schema check of a client's update to a site document, before it is applied.
 * It reads what the integration model (server/admission/model.ts) says Yjs will do, so the
 * placement is exact rather than argued from the update's own word:
 * - every new item is checked where it will land (top-level map, entry, field, text), its
 *   value against shared/schema;
 * - a field counts as written only if the new item ends up as the key's current value; a
 *   current value that is `ContentDeleted`, or deleted by the update's delete set, is a
 *   deletion of the field;
 * - afterwards, no live object may have lost a field it needs (its type, parent, name, or a
 *   field its type requires), and every new object has them all. Objects that were already
 *   missing a field before this update (stored before the guard existed) can still be edited.
 * - no pending items: an item whose neighbour the server does not have yet would land later,
 *   where this check never looked.
 * The delete set is merged and searched in O(log n). The check runs in slices of work
 * (`advance`) like the rest of admission, so a large site update never holds the event loop.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import type { z } from 'zod'
import {
  Anchor,
  describeIssue,
  fieldAllowed,
  HUMAN_FIELDS,
  Id,
  OBJECT_FIELDS,
  OBJECT_TYPES,
  requiredFields,
  TOP_LEVEL,
  type ObjectType,
} from '../../shared/schema/domain.ts'
import { MergedDeletes } from '../admission/deletes.ts'
import { IntegrationModel, type ModelType, type Node } from '../admission/model.ts'
import { Ref, scanUpdate, TypeRef } from '../admission/scan.ts'
import { AtriumError } from '../../shared/errors.ts'

export class SchemaViolation extends AtriumError {
  override readonly name = 'SchemaViolation'
}

function fail(message: string): never {
  throw new SchemaViolation(message)
}

function validate(schema: z.ZodType, value: unknown, what: string): void {
  const r = schema.safeParse(value)
  if (!r.success) fail(`${what}: ${describeIssue(r.error)}`)
}

const ROOTS = new Set<string>(TOP_LEVEL)
/** Work units of checking one item (a schema parse dominates), and of one object's final state. */
const ITEM_WORK = 3000
const OBJECT_WORK = 4000

/** Where a type's items land in the site layout. */
type TypePlace =
  | { kind: 'root'; root: string }
  /** An entry's Y.Map (objects/<id>, humans/<id>); `holder` is the entry item. */
  | { kind: 'entry'; root: string; key: string; holder: Node }
  /** A field's content (a transcript Y.Text, or something refused). */
  | { kind: 'field'; root: string; key: string; field: string }
  | { kind: 'gone' }

/**
 * Checks one update. Construct after the model ran; `advance(units)` returns true when the
 * update passed, throws SchemaViolation when it does not.
 */
export class SiteGuard {
  private readonly places = new Map<ModelType, TypePlace>()
  /** Entries of `objects` this update writes into or deletes fields of: holder → key. */
  private readonly touched = new Map<Node, string>()
  /** Entries created by this update. */
  private readonly created = new Set<Node>()
  private next = 0
  private phase: 'shape' | 'items' | 'deletes' | 'objects' | 'done' = 'shape'

  constructor(
    private readonly doc: Y.Doc,
    private readonly model: IntegrationModel,
    private readonly deletes: MergedDeletes,
  ) {}

  advance(units: number, deadline = Number.POSITIVE_INFINITY): boolean {
    let budget = units
    let n = 0
    const late = () => (++n & 31) === 0 && performance.now() >= deadline
    if (this.phase === 'shape') {
      this.shape()
      this.phase = 'items'
    }
    while (this.phase === 'items' && budget > 0) {
      if (this.next >= this.model.order.length) {
        this.phase = 'deletes'
        break
      }
      this.item(this.model.order[this.next++]!)
      budget -= ITEM_WORK
      if (late()) return false
    }
    if (this.phase === 'deletes' && budget > 0) {
      budget -= this.deletedFields()
      this.phase = 'objects'
      this.pendingObjects = [...this.touched]
      this.next = 0
    }
    while (this.phase === 'objects' && budget > 0) {
      if (this.next >= this.pendingObjects.length) {
        this.phase = 'done'
        break
      }
      const [holder, key] = this.pendingObjects[this.next++]!
      this.object(holder, key)
      budget -= OBJECT_WORK
      if (late()) return false
    }
    return this.phase === 'done'
  }

  /** The touched objects, in a list the last phase walks in slices. */
  private pendingObjects: [Node, string][] = []

  /** What does not depend on placement: top-level names (Yjs creates them on decode), no pending items. */
  private shape(): void {
    const u = this.model.update
    for (let i = 0; i < u.count; i++) {
      const root = u.parentRoot[i]!
      if (root !== -1 && !ROOTS.has(u.strings[root]!))
        fail(`unknown top-level ${JSON.stringify(u.strings[root])} (a site document has ${TOP_LEVEL.join(', ')})`)
    }
    if (this.model.result.pendingStructs > 0) fail('update refers to content the server does not have (yet): send it after what it builds on')
  }

  // ---- places ----

  private placeOfType(t: ModelType): TypePlace {
    let p = this.places.get(t)
    if (p) return p
    if (t.root !== null) {
      if (!ROOTS.has(t.root)) fail(`unknown top-level ${JSON.stringify(t.root)} (a site document has ${TOP_LEVEL.join(', ')})`)
      p = { kind: 'root', root: t.root }
    } else {
      const holder = t.item ?? this.model.find(t.real!._item!.id.client, t.real!._item!.id.clock)!
      const at = holder.isGC || !holder.parent ? ({ kind: 'gone' } as const) : this.placeOfType(holder.parent)
      switch (at.kind) {
        case 'gone':
          p = at
          break
        case 'root':
          p = { kind: 'entry', root: at.root, key: holder.parentSub ?? fail(`top-level ${JSON.stringify(at.root)} is a map, not a list`), holder }
          break
        case 'entry':
          p = { kind: 'field', root: at.root, key: at.key, field: holder.parentSub ?? fail(`${at.root}/${at.key} is a map, not a list`) }
          break
        case 'field':
          fail(`${at.root}/${at.key}.${at.field} holds no nested content`)
      }
    }
    this.places.set(t, p)
    return p
  }

  // ---- one new item ----

  private item(i: number): void {
    const node = this.model.nodes[i]!
    if (node.isGC || !node.parent) return
    const place = this.placeOfType(node.parent)
    const u = this.model.update
    const ref = u.ref[i]!
    const deletedContent = ref === Ref.Deleted
    switch (place.kind) {
      case 'gone':
        return
      case 'root': {
        const key = node.parentSub ?? fail(`top-level ${JSON.stringify(place.root)} is a map, not a list`)
        validate(Id, key, `${place.root} id`)
        if (deletedContent) return
        if (place.root === 'anchors') {
          if (ref !== Ref.Any || u.length[i] !== 1) fail(`anchors/${key} must be a plain value`)
          validate(Anchor, this.value(i), `anchor ${key}`)
        } else if (ref !== Ref.Type || u.typeRef[i] !== TypeRef.Map) fail(`${place.root}/${key} must be a Y.Map`)
        else if (place.root === 'objects') {
          this.created.add(node)
          this.touched.set(node, key)
        }
        return
      }
      case 'entry': {
        const field = node.parentSub ?? fail(`${place.root}/${place.key} is a map, not a list`)
        const what = `${place.root}/${place.key}.${field}`
        if (place.root === 'objects') {
          this.touched.set(place.holder, place.key)
          if (deletedContent) return
          if (ref !== Ref.Any || u.length[i] !== 1) fail(`${what} must be a plain value`)
          this.objectField(place.holder, place.key, field, this.value(i), what)
        } else if (place.root === 'humans') {
          if (deletedContent) return
          if (field === 'transcript') {
            if (ref !== Ref.Type || u.typeRef[i] !== TypeRef.Text) fail(`${what} must be a Y.Text`)
          } else {
            const schema = HUMAN_FIELDS[field as keyof typeof HUMAN_FIELDS] as z.ZodType | undefined
            if (!schema) fail(`${what}: a human has no field ${JSON.stringify(field)}`)
            if (ref !== Ref.Any || u.length[i] !== 1) fail(`${what} must be a plain value`)
            validate(schema, this.value(i), what)
          }
        } else fail(`${place.root}/${place.key} is a plain value; it has no fields`)
        return
      }
      case 'field':
        if (!(place.root === 'humans' && place.field === 'transcript')) fail(`${place.root}/${place.key}.${place.field} holds no nested content`)
        if (!(ref === Ref.String || ref === Ref.Format || deletedContent)) fail(`transcript of ${place.key} holds text only`)
    }
  }

  /** A field of an object: allowed for its type, valid, and `type` never changed once set. */
  private objectField(holder: Node, key: string, field: string, value: unknown, what: string): void {
    const existing = this.currentValue(holder, 'type', true)
    if (field === 'type' && existing.present && value !== existing.value) fail(`${what}: an object's type cannot change`)
    const type = field === 'type' ? value : this.currentValue(holder, 'type', false).value
    const schema = OBJECT_FIELDS[field as keyof typeof OBJECT_FIELDS] as z.ZodType | undefined
    if (OBJECT_TYPES.includes(type as ObjectType)) {
      if (!fieldAllowed(type as ObjectType, field)) fail(`${what}: a ${String(type)} has no field ${JSON.stringify(field)}`)
    } else if (this.created.has(holder)) validate(OBJECT_FIELDS.type, type, `objects/${key}.type`)
    // An old object without a valid type (stored before the guard): its fields are still checked one by one.
    if (!schema) fail(`${what}: an object has no field ${JSON.stringify(field)}`)
    validate(schema, value, what)
  }

  // ---- deletions and the state afterwards ----

  /** Objects whose fields the delete set removes; returns the work done. */
  private deletedFields(): number {
    const store = this.doc.store
    let work = 0
    for (const [client, list] of this.deletes.byClient) {
      const structs = store.clients.get(client)
      if (!structs) continue
      const state = Y.getState(store, client)
      for (let k = 0; k < list.length; k += 2) {
        const end = Math.min(list[k + 1]!, state)
        if (list[k]! >= end) continue
        for (let i = Y.findIndexSS(structs, list[k]!); i < structs.length && structs[i]!.id.clock < end; i++) {
          work += 200
          const item = structs[i]!
          if (!(item instanceof Y.Item) || item.deleted || item.parentSub === null) continue
          const entry = (item.parent as Y.AbstractType<unknown>)._item
          if (!entry || !(entry.parent instanceof Y.AbstractType) || entry.parent._item !== null || Y.findRootTypeKey(entry.parent) !== 'objects') continue
          if (entry.parentSub !== null) this.touched.set(this.model.find(entry.id.client, entry.id.clock)!, entry.parentSub)
        }
      }
    }
    return work
  }

  /** A live object keeps the fields it needs; a new one has them all. */
  private object(holder: Node, key: string): void {
    if (!this.live(holder, key)) return
    const type = this.currentValue(holder, 'type', false)
    const created = this.created.has(holder)
    if (created && !type.present) fail(`objects/${key}: a new object needs a type`)
    for (const field of requiredFields(type.value as string | undefined)) {
      if (this.currentValue(holder, field, false).present) continue
      if (created) fail(`objects/${key}: a new ${String(type.value)} needs ${field}`)
      if (this.currentValue(holder, field, true).present)
        fail(`objects/${key}.${field}: a ${String(type.value ?? 'object')} needs it (delete the object instead)`)
    }
  }

  /** Whether an entry is its key's current value and deleted by nobody. */
  private live(holder: Node, key: string): boolean {
    if (holder.deleted || this.deletes.has(holder.client, holder.clock) || !holder.parent) return false
    return this.model.keyOf(holder.parent, key) === holder
  }

  /**
   * A field's current value: `before` the update (the document's), or after it (the model's
   * placement, less what the delete set removes). Present when there is a value that is not
   * deleted content.
   */
  private currentValue(holder: Node, field: string, before: boolean): { present: boolean; value: unknown } {
    const absent = { present: false, value: undefined }
    const type = this.model.typeHeldBy(holder)
    if (!type) return absent
    if (before) {
      const item = type.real?._map.get(field)
      if (!item || item.deleted || !(item.content instanceof Y.ContentAny)) return absent
      return { present: true, value: item.content.arr[item.content.arr.length - 1] }
    }
    const n = this.model.keyOf(type, field)
    if (!n || n.deleted || this.deletes.has(n.client, n.clock + n.len - 1)) return absent
    if (n.real) {
      const content = (n.real as Y.Item).content
      return content instanceof Y.ContentAny ? { present: true, value: content.arr[n.clock + n.len - 1 - n.real.id.clock] } : absent
    }
    return this.model.update.ref[n.index] === Ref.Any ? { present: true, value: this.value(n.index) } : absent
  }

  /** The (single) value of ContentAny struct `i`, decoded from the update. */
  private value(i: number): unknown {
    const d = decoding.createDecoder(this.model.update.bytes)
    d.pos = this.model.update.contentStart[i]!
    const n = decoding.readVarUint(d)
    let v: unknown
    for (let k = 0; k < n; k++) v = decoding.readAny(d)
    return v
  }
}

/** Scans, models and checks one update at once (tests and tools; the server goes through admission). */
export function checkSiteUpdate(doc: Y.Doc, update: Uint8Array): void {
  const u = scanUpdate(update)
  const model = new IntegrationModel(doc, u, Number.POSITIVE_INFINITY)
  model.run()
  new SiteGuard(doc, model, MergedDeletes.from(u.deletes)).advance(Number.POSITIVE_INFINITY)
}
