/**
 * The typed read side of a site document: what an editor, a bot or a headset shows, as
 * plain frozen data (never Y types), read with the same rules as the server's compute
 * (server/workers/compute.worker.ts): stored objects pass through `sanitizeObject` (those
 * with no valid type are left out), then `resolveHierarchy` places them (missing parents
 * and broken cycles at the top level). Every replica therefore shows the same tree.
 *
 * Reads are cached and kept current through one observer per top-level map, with work
 * proportional to the change: an edit re-sanitizes only the objects it touched, and the
 * hierarchy is resolved again only when an object appeared, went or changed parent. So a
 * 10,000-object site costs one full read, then near nothing per repeated read.
 * Lists are sorted by id (Y.Map iteration order differs between replicas).
 */
import * as Y from 'yjs'
import { anchorsOf, humansOf, objectsOf, sanitizeObject } from '../../shared/schema/document.ts'
import { pathTo, resolveHierarchy, type Hierarchy } from '../../shared/schema/hierarchy.ts'
import { Anchor, type BuildingObject, Human, type ObjectType } from '../../shared/schema/domain.ts'
import { copyPlain } from '../../shared/schema/plain.ts'

export interface ObjectEntry {
  readonly id: string
  readonly object: Readonly<BuildingObject>
}
export interface TreeNode extends ObjectEntry {
  readonly children: readonly TreeNode[]
}
export interface AnchorEntry {
  readonly id: string
  readonly anchor: Readonly<Anchor>
}
export type HumanData = Readonly<Human> & { readonly transcript: string }
export interface HumanEntry {
  readonly id: string
  readonly human: HumanData
}

/** Frozen all the way down: cached reads cannot be changed by a caller. */
const frozenCopy = <T>(value: T): T => copyPlain(value, { freeze: true })

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export class SiteView {
  readonly #doc: Y.Doc
  /** Sanitized objects by id; null until the first read of objects. */
  #objects: Map<string, ObjectEntry> | null = null
  #hierarchy: Hierarchy | null = null
  #tree: readonly TreeNode[] | null = null
  /** Sorted lists by type ('*': all). */
  #lists = new Map<ObjectType | '*', readonly ObjectEntry[]>()
  #anchors: Map<string, AnchorEntry> | null = null
  #anchorList: readonly AnchorEntry[] | null = null
  #humans: readonly HumanEntry[] | null = null
  #live = true

  /**
   * Brings the caches up to date before any observer of the transaction runs (Yjs's
   * `beforeObserverCalls`), so an event listener reading the view, whatever map its event is
   * about, reads the new state: observers of the three maps run in the order the maps changed.
   */
  readonly #onTransaction = (tr: Y.Transaction): void => {
    const objectsRoot: unknown = objectsOf(this.#doc)
    const anchorsRoot: unknown = anchorsOf(this.#doc)
    const humansRoot: unknown = humansOf(this.#doc)
    const touched = new Set<string>()
    for (const [type, keys] of tr.changed) {
      const item = type._item
      if (type === objectsRoot) for (const id of keys) if (id !== null) touched.add(id)
      if (item && item.parent === objectsRoot && typeof item.parentSub === 'string') touched.add(item.parentSub)
      if (type === anchorsRoot) this.#anchorsChanged(keys)
      if (type === humansRoot || item?.parent === humansRoot || (item?.parent as Y.AbstractType<unknown> | undefined)?._item?.parent === humansRoot)
        this.#humans = null
    }
    if (touched.size > 0) this.#objectsChanged(touched)
  }

  #objectsChanged(touched: Set<string>): void {
    this.#tree = null
    this.#lists.clear()
    const objects = this.#objects
    if (!objects) return
    for (const id of touched) {
      const before = objects.get(id)
      const after = this.#read(id)
      if (after) objects.set(id, after)
      else objects.delete(id)
      if (before?.object.parentId !== after?.object.parentId || !before !== !after) this.#hierarchy = null
    }
  }

  #anchorsChanged(keys: Set<string | null>): void {
    this.#anchorList = null
    const anchors = this.#anchors
    if (!anchors) return
    for (const id of keys) {
      if (id === null) continue
      const entry = this.#readAnchor(id)
      if (entry) anchors.set(id, entry)
      else anchors.delete(id)
    }
  }

  constructor(doc: Y.Doc) {
    this.#doc = doc
    doc.on('beforeObserverCalls', this.#onTransaction)
  }

  /** The resolved hierarchy: every valid object once, top-level objects first. */
  tree(): readonly TreeNode[] {
    if (this.#tree) return this.#tree
    const h = this.hierarchy()
    const objects = this.#entries()
    // Children before parents (reverse pre-order), without recursion: nothing bounds a chain's depth.
    const order: string[] = []
    const stack = [...(h.children.get(null) ?? [])]
    while (stack.length > 0) {
      const id = stack.pop()!
      order.push(id)
      for (const child of h.children.get(id) ?? []) stack.push(child)
    }
    const nodes = new Map<string, TreeNode>()
    const kids = (parent: string | null) => Object.freeze((h.children.get(parent) ?? []).map((id) => nodes.get(id)!))
    for (let i = order.length - 1; i >= 0; i--) {
      const id = order[i]!
      nodes.set(id, Object.freeze({ ...objects.get(id)!, children: kids(id) }))
    }
    const tree = kids(null)
    if (this.#live) this.#tree = tree
    return tree
  }

  /** The objects directly under `parent` (null: the top level), sorted by id. */
  children(parent: string | null): readonly ObjectEntry[] {
    const objects = this.#entries()
    return Object.freeze((this.hierarchy().children.get(parent) ?? []).map((id) => objects.get(id)!))
  }

  /** From the top level down to `id` (inclusive); empty when there is no such object. */
  path(id: string): readonly ObjectEntry[] {
    const objects = this.#entries()
    if (!objects.has(id)) return Object.freeze([])
    return Object.freeze(pathTo(this.hierarchy(), id).map((x) => objects.get(x)!))
  }

  object(id: string): Readonly<BuildingObject> | null {
    return this.#entries().get(id)?.object ?? null
  }

  /** Every object, or every object of one type, sorted by id. */
  objects(type?: ObjectType): readonly ObjectEntry[] {
    const key = type ?? '*'
    const cached = this.#lists.get(key)
    if (cached) return cached
    const list: ObjectEntry[] = []
    for (const entry of this.#entries().values()) if (type === undefined || entry.object.type === type) list.push(entry)
    const sorted = Object.freeze(list.sort(byId))
    if (this.#live) this.#lists.set(key, sorted)
    return sorted
  }

  /** Where each object is placed, and which ones are detached (for editors that show problems). */
  hierarchy(): Hierarchy {
    const h = this.#hierarchy ?? resolveHierarchy(parentsOf(this.#entries()))
    if (this.#live) this.#hierarchy = h
    return h
  }

  anchors(): readonly AnchorEntry[] {
    if (this.#anchorList) return this.#anchorList
    const list = Object.freeze([...this.#anchorEntries().values()].sort(byId))
    if (this.#live) this.#anchorList = list
    return list
  }

  anchor(id: string): Readonly<Anchor> | null {
    return this.#anchorEntries().get(id)?.anchor ?? null
  }

  /** Digital humans whose stored fields pass the Human schema, with their transcript's text. */
  humans(): readonly HumanEntry[] {
    if (this.#humans) return this.#humans
    const list: HumanEntry[] = []
    for (const [id, map] of humansOf(this.#doc)) {
      if (!(map instanceof Y.Map)) continue
      const { transcript, ...fields } = map.toJSON() as Record<string, unknown>
      const human = Human.safeParse(fields)
      if (human.success) list.push(Object.freeze({ id, human: frozenCopy({ ...human.data, transcript: typeof transcript === 'string' ? transcript : '' }) }))
    }
    const sorted = Object.freeze(list.sort(byId))
    if (this.#live) this.#humans = sorted
    return sorted
  }

  human(id: string): HumanData | null {
    return this.humans().find((h) => h.id === id)?.human ?? null
  }

  /** Stops following the document; later reads still answer, each from the document afresh. */
  destroy(): void {
    if (!this.#live) return
    this.#live = false
    this.#doc.off('beforeObserverCalls', this.#onTransaction)
    this.#objects = this.#hierarchy = this.#tree = this.#anchors = this.#anchorList = this.#humans = null
    this.#lists.clear()
  }

  #entries(): Map<string, ObjectEntry> {
    if (this.#objects) return this.#objects
    const objects = new Map<string, ObjectEntry>()
    for (const id of objectsOf(this.#doc).keys()) {
      const entry = this.#read(id)
      if (entry) objects.set(id, entry)
    }
    if (this.#live) this.#objects = objects
    return objects
  }

  #read(id: string): ObjectEntry | null {
    const map = objectsOf(this.#doc).get(id)
    const object = map instanceof Y.Map ? sanitizeObject(id, map.toJSON() as Record<string, unknown>) : null
    return object ? Object.freeze({ id, object: frozenCopy(object) }) : null
  }

  #anchorEntries(): Map<string, AnchorEntry> {
    if (this.#anchors) return this.#anchors
    const anchors = new Map<string, AnchorEntry>()
    for (const id of anchorsOf(this.#doc).keys()) {
      const entry = this.#readAnchor(id)
      if (entry) anchors.set(id, entry)
    }
    if (this.#live) this.#anchors = anchors
    return anchors
  }

  #readAnchor(id: string): AnchorEntry | null {
    const anchor = Anchor.safeParse(anchorsOf(this.#doc).get(id))
    return anchor.success ? Object.freeze({ id, anchor: frozenCopy(anchor.data) }) : null
  }
}

function parentsOf(objects: ReadonlyMap<string, ObjectEntry>): Map<string, { readonly parentId: string | null }> {
  const out = new Map<string, { readonly parentId: string | null }>()
  for (const [id, entry] of objects) out.set(id, entry.object)
  return out
}
