/**
 * Typed change events of a site document, so applications react to what changed (ids,
 * old and new values, whether this client wrote it) without reading Yjs events.
 *
 * Rules:
 * - One observeDeep per top-level map; Yjs calls it once per transaction, so each event
 *   fires once per transaction: `objectsMoved` once with every move, the others once per
 *   object, anchor or human touched. A map with no listener for its events costs a size check.
 * - Values are copies of what is stored (not sanitized: listeners see what was written);
 *   `anchorMoved` carries anchors that pass the Anchor schema (else null).
 * - A deleted or replaced entry's old fields are read from its items before Yjs collects
 *   them (observers run before the transaction's garbage collection), each field as it was
 *   before the transaction began.
 * - `objectsMoved` lists parentId changes of objects that existed before and after; an added
 *   or deleted object is an `objectChanged` only.
 * - A listener that throws does not stop the others, nor the writer's transaction: its error
 *   is rethrown on a microtask, where the host reports it.
 */
import * as Y from 'yjs'
import { anchorsOf, humansOf, objectsOf } from '../../shared/schema/document.ts'
import { Anchor, OBJECT_FIELDS, type ObjectType } from '../../shared/schema/domain.ts'
import { copyPlain } from '../../shared/schema/plain.ts'

export type ChangeKind = 'added' | 'updated' | 'deleted'
export interface FieldChange {
  readonly old: unknown
  readonly new: unknown
}
export type FieldChanges = Readonly<Record<string, FieldChange>>

export interface ObjectChanged {
  readonly id: string
  readonly kind: ChangeKind
  /** The object's type (its old one when deleted); null when none valid is stored. */
  readonly type: ObjectType | null
  readonly changes: FieldChanges
  readonly local: boolean
}
export interface ObjectMove {
  readonly id: string
  readonly from: string | null
  readonly to: string | null
}
export interface ObjectsMoved {
  readonly moves: readonly ObjectMove[]
  readonly local: boolean
}
export interface AnchorMoved {
  readonly id: string
  readonly old: Anchor | null
  readonly new: Anchor | null
  readonly local: boolean
}
export interface HumanChanged {
  readonly id: string
  readonly kind: ChangeKind
  /** Every field but the transcript (see `transcript`). */
  readonly changes: FieldChanges
  readonly local: boolean
}
export type TextDelta = { readonly insert: string } | { readonly delete: number } | { readonly retain: number }
export interface TranscriptChanged {
  readonly humanId: string
  /** What changed, as a Y.Text delta; a new human's transcript arrives as one insert. */
  readonly delta: readonly TextDelta[]
  /** The whole transcript now. */
  readonly text: string
  readonly local: boolean
}

export interface SiteEventMap {
  objectChanged: ObjectChanged
  objectsMoved: ObjectsMoved
  anchorMoved: AnchorMoved
  humanChanged: HumanChanged
  transcript: TranscriptChanged
}
export type SiteEventName = keyof SiteEventMap
export type SiteListener<K extends SiteEventName> = (event: SiteEventMap[K]) => void

type Fields = Record<string, unknown>
type DeepEvent = Y.YEvent<Y.AbstractType<unknown>>
const KIND = { add: 'added', update: 'updated', delete: 'deleted' } as const

/** A copy of a stored value (plain JSON-like data), so a listener cannot change the document's. */
const copy = (value: unknown): unknown => (value instanceof Y.AbstractType ? value.toJSON() : copyPlain(value))

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b)

/** The fields of a live entry's map. */
function fieldsNow(value: unknown, skip?: string): Fields | undefined {
  if (!(value instanceof Y.Map)) return value === undefined ? undefined : {}
  const out: Fields = {}
  for (const [key, v] of value.entries()) if (key !== skip) out[key] = copy(v)
  return out
}

/** The fields a map had before `tr` began (it may since be deleted or changed): each key's item from before, unless it was deleted earlier. */
function fieldsBefore(value: unknown, tr: Y.Transaction, skip?: string): Fields | undefined {
  if (!(value instanceof Y.Map)) return value === undefined ? undefined : {}
  const out: Fields = {}
  for (const [key, last] of value._map) {
    if (key === skip) continue
    let item: Y.Item | null = last
    while (item !== null && item.id.clock >= (tr.beforeState.get(item.id.client) ?? 0)) item = item.left as Y.Item | null
    if (item === null || (item.deleted && !Y.isDeleted(tr.deleteSet, item.id))) continue
    const content = item.content.getContent()
    if (content.length > 0) out[key] = copy(content[content.length - 1])
  }
  return out
}

/** Field by field, what differs between two versions of an entry (either may be absent). */
function diff(before: Fields | undefined, after: Fields | undefined): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {}
  for (const [k, v] of Object.entries(after ?? {})) if (!before || !Object.hasOwn(before, k) || !same(before[k], v)) changes[k] = { old: before?.[k], new: v }
  for (const [k, v] of Object.entries(before ?? {})) if (!after || !Object.hasOwn(after, k)) changes[k] = { old: v, new: undefined }
  return changes
}

/** An entry's changes in one transaction: its top-level change (added, replaced, deleted), or its own map's field changes. */
function entryChanges(
  events: readonly DeepEvent[],
  root: Y.Map<unknown>,
  skip?: string,
): Map<string, { kind: ChangeKind; changes: Record<string, FieldChange>; after: Fields | undefined; before: Fields | undefined }> {
  const out = new Map<string, { kind: ChangeKind; changes: Record<string, FieldChange>; after: Fields | undefined; before: Fields | undefined }>()
  for (const event of events) {
    if (event.target !== root) continue
    for (const [id, change] of event.changes.keys) {
      const before = change.action === 'add' ? undefined : fieldsBefore(change.oldValue, event.transaction, skip)
      const after = change.action === 'delete' ? undefined : fieldsNow(root.get(id), skip)
      out.set(id, { kind: KIND[change.action], changes: diff(before, after), before, after })
    }
  }
  for (const event of events) {
    const id = event.path[0]
    if (event.path.length !== 1 || typeof id !== 'string' || out.has(id) || !(event.target instanceof Y.Map)) continue
    const changes: Record<string, FieldChange> = {}
    for (const [field, change] of event.changes.keys) {
      if (field === skip) continue
      changes[field] = {
        old: change.action === 'add' ? undefined : copy(change.oldValue),
        new: change.action === 'delete' ? undefined : copy(event.target.get(field)),
      }
    }
    if (Object.keys(changes).length > 0) out.set(id, { kind: 'updated', changes, before: undefined, after: undefined })
  }
  return out
}

/** An entry that should be a Y.Map, or undefined: an old or hostile client may have stored anything there. */
const mapAt = (root: Y.Map<unknown>, id: string): Y.Map<unknown> | undefined => {
  const value = root.get(id)
  return value instanceof Y.Map ? value : undefined
}

const typeOf = (value: unknown): ObjectType | null => {
  const r = OBJECT_FIELDS.type.safeParse(value)
  return r.success ? r.data : null
}
const parentOf = (value: unknown): string | null => (typeof value === 'string' ? value : null)
const anchorOf = (value: unknown): Anchor | null => {
  const r = Anchor.safeParse(value)
  return r.success ? r.data : null
}

export class SiteEvents {
  readonly #doc: Y.Doc
  readonly #isLocal: (origin: unknown) => boolean
  readonly #listeners: { [K in SiteEventName]: Set<SiteListener<K>> } = {
    objectChanged: new Set(),
    objectsMoved: new Set(),
    anchorMoved: new Set(),
    humanChanged: new Set(),
    transcript: new Set(),
  }
  #live = true

  constructor(doc: Y.Doc, isLocal: (origin: unknown) => boolean) {
    this.#doc = doc
    this.#isLocal = isLocal
    objectsOf(doc).observeDeep(this.#onObjects)
    anchorsOf(doc).observeDeep(this.#onAnchors)
    humansOf(doc).observeDeep(this.#onHumans)
  }

  /** Calls `listener` for each event `name`; returns the function that stops it. */
  on<K extends SiteEventName>(name: K, listener: SiteListener<K>): () => void {
    const set = this.#listeners[name] as Set<SiteListener<K>>
    if (this.#live) set.add(listener)
    return () => set.delete(listener)
  }

  destroy(): void {
    if (!this.#live) return
    this.#live = false
    objectsOf(this.#doc).unobserveDeep(this.#onObjects)
    anchorsOf(this.#doc).unobserveDeep(this.#onAnchors)
    humansOf(this.#doc).unobserveDeep(this.#onHumans)
    for (const set of Object.values(this.#listeners)) set.clear()
  }

  #emit<K extends SiteEventName>(name: K, event: SiteEventMap[K]): void {
    for (const listener of [...(this.#listeners[name] as Set<SiteListener<K>>)]) {
      try {
        listener(event)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  readonly #onObjects = (events: DeepEvent[], tr: Y.Transaction): void => {
    const { objectChanged, objectsMoved } = this.#listeners
    if (objectChanged.size === 0 && objectsMoved.size === 0) return
    const local = this.#isLocal(tr.origin)
    const moves: ObjectMove[] = []
    for (const [id, { kind, changes, before, after }] of entryChanges(events, objectsOf(this.#doc) as Y.Map<unknown>)) {
      const type = typeOf(kind === 'deleted' ? before?.type : (after?.type ?? mapAt(objectsOf(this.#doc) as Y.Map<unknown>, id)?.get('type')))
      if (objectChanged.size > 0) this.#emit('objectChanged', { id, kind, type, changes, local })
      const move = changes.parentId
      if (move && kind === 'updated' && parentOf(move.old) !== parentOf(move.new)) moves.push({ id, from: parentOf(move.old), to: parentOf(move.new) })
    }
    if (moves.length > 0 && objectsMoved.size > 0) this.#emit('objectsMoved', { moves, local })
  }

  readonly #onAnchors = (events: DeepEvent[], tr: Y.Transaction): void => {
    if (this.#listeners.anchorMoved.size === 0) return
    const local = this.#isLocal(tr.origin)
    const anchors = anchorsOf(this.#doc)
    for (const event of events) {
      if (event.target !== anchors) continue
      for (const [id, change] of event.changes.keys) {
        const old = change.action === 'add' ? null : anchorOf(change.oldValue)
        const now = change.action === 'delete' ? null : anchorOf(anchors.get(id))
        if (old || now) this.#emit('anchorMoved', { id, old, new: now, local })
      }
    }
  }

  readonly #onHumans = (events: DeepEvent[], tr: Y.Transaction): void => {
    const { humanChanged, transcript } = this.#listeners
    if (humanChanged.size === 0 && transcript.size === 0) return
    const local = this.#isLocal(tr.origin)
    const humans = humansOf(this.#doc) as Y.Map<unknown>
    if (humanChanged.size > 0)
      for (const [id, { kind, changes }] of entryChanges(events, humans, 'transcript'))
        if (kind !== 'updated' || Object.keys(changes).length > 0) this.#emit('humanChanged', { id, kind, changes, local })
    if (transcript.size === 0) return
    for (const event of events) {
      if (event.target === humans) {
        // A new human's transcript: the whole text as one insert.
        for (const [id, change] of event.changes.keys) {
          const text = change.action === 'add' ? mapAt(humansOf(this.#doc) as Y.Map<unknown>, id)?.get('transcript') : undefined
          if (text instanceof Y.Text && text.length > 0)
            this.#emit('transcript', { humanId: id, delta: [{ insert: text.toString() }], text: text.toString(), local })
        }
      } else if (event.target instanceof Y.Text && event.path.length === 2 && event.path[1] === 'transcript' && typeof event.path[0] === 'string') {
        const delta = (event as Y.YTextEvent).delta.flatMap((op): TextDelta[] =>
          typeof op.insert === 'string'
            ? [{ insert: op.insert }]
            : op.delete !== undefined
              ? [{ delete: op.delete }]
              : op.retain !== undefined
                ? [{ retain: op.retain }]
                : [],
        )
        this.#emit('transcript', { humanId: event.path[0], delta, text: event.target.toString(), local })
      }
    }
  }
}
