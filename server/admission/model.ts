/**
 * A model of what Yjs 13 will do with an update on a document, computed before Yjs does it and
 * without changing the document: the order in which structs integrate, where each new item
 * lands, which items are split on the way, which stay pending, and how much work that is.
 *
 * Why: Yjs places concurrent inserts at one position by scanning every conflicting item, so an
 * update's cost depends on the document and can be quadratic in both (issue 12, finding 1).
 * The model runs the same algorithms (integrateStructs, getMissing, Item.integrate, splitItem)
 * on an overlay: document items are read, never written; new items and split pieces are
 * model nodes linked around them. Its step count is therefore the conflict-scan work Yjs will
 * do, and the model stops as soon as it passes the caller's budget, so a hostile update costs
 * at most that budget here and nothing in Yjs. Its placement is exact, which the schema guard
 * uses to tell which value of a field ends up current.
 *
 * Mirrors yjs 13.6 (src/utils/encoding.js integrateStructs, src/structs/Item.js); model.test.ts
 * checks placement against Yjs itself on randomized concurrent edits.
 */
import * as Y from 'yjs'
import { Ref, type ScannedUpdate } from './scan.ts'
import { AtriumError } from '../../shared/errors.ts'

/**
 * Work units of each kind of step, calibrated so that one unit is about one nanosecond of
 * Yjs on the reference machine (see admission/calibrate.bench.ts).
 */
export const Work = {
  /** Decoding and integrating one struct, besides its bytes. */
  struct: 400,
  /** Per byte of a struct's encoding (content decoding dominates). */
  byte: 40,
  /** One step of a conflict scan or of walking a map key's history. */
  step: 60,
  /** One pointer moved when Yjs splices a client's struct array (split or merge): a memmove. */
  move: 0.4,
  /** A client id the update brings: Yjs sorts, looks up and creates per client (measured with 4,000 one-struct clients). */
  client: 6000,
} as const

/**
 * The model's own speed: it walks the same items as Yjs but builds its overlay on the way, so
 * a unit of modelled work takes it about this many nanoseconds (admission slices by it).
 */
export const MODEL_NS_PER_UNIT = 2.5

/** The model passed its budget: the update costs more than the caller allows. */
export class OverBudget extends AtriumError {
  override readonly name = 'OverBudget'
  constructor(
    /** `work`: all of it; `steps`: conflict scans alone (the quadratic part). */
    readonly kind: 'work' | 'steps',
    readonly limit: number,
  ) {
    super(kind === 'work' ? `integration work passes ${limit} units` : `concurrent-insert scans pass ${limit} steps`)
  }
}

type YItem = Y.Item
type YStruct = Y.Item | Y.GC
/** Any Yjs type: Yjs's own generic is its event type, invariant here, and its own default is `any`. */
// biome-ignore lint/suspicious/noExplicitAny: the one place Atrium names Yjs's any-typed AbstractType
export type YType = Y.AbstractType<any>

/** The update refers to an id that neither the document nor the update will have where Yjs looks it up (Yjs would throw half-way). */
export class BrokenReference extends AtriumError {
  override readonly name = 'BrokenReference'
  constructor(
    readonly client: number,
    readonly clock: number,
  ) {
    super(`update refers to ${client}:${clock}, which does not exist`)
  }
}

/** Repair mode: the struct being integrated scans too far (internal to the model). */
class TooCostly extends AtriumError {
  override readonly name = 'TooCostly'
}

/** A list or map the model places items in: a document type, or a type created by the update. */
export class ModelType {
  /** Overlay of the first item of the list (undefined: the document's). */
  start: Node | null | undefined = undefined
  /** Overlay of the current item of each map key (created on first use: most types never need one). */
  private keyMap: Map<string, Node> | null = null
  constructor(
    /** The document's type, or null for one this update creates (or a new root). */
    readonly real: YType | null,
    /** The item holding a new type (null for document types and roots). */
    readonly item: Node | null,
    /** The root name, for roots. */
    readonly root: string | null,
  ) {}

  key(key: string): Node | undefined {
    return this.keyMap?.get(key)
  }

  setKey(key: string, node: Node): void {
    ;(this.keyMap ??= new Map()).set(key, node)
  }

  /** Keys the overlay has set. */
  overlayKeys(): IterableIterator<string> {
    return (this.keyMap ?? new Map<string, Node>()).keys()
  }
}

const UNSET = Symbol('unset')
type Link = Node | null | typeof UNSET

/** A piece of an item (document or new) as placed by the model. */
export class Node {
  left: Link = UNSET
  right: Link = UNSET
  parent: ModelType | null = null
  parentSub: string | null = null
  deleted: boolean
  /** Turned into a GC struct (its neighbour or parent is garbage collected). */
  gc = false
  constructor(
    readonly client: number,
    public clock: number,
    public len: number,
    public originClient: number,
    public originClock: number,
    public rightClient: number,
    public rightClock: number,
    /** The document struct this is (a piece of), or null for a new struct. */
    readonly real: YStruct | null,
    /** Index of the new struct in the scan, -1 for document structs. */
    readonly index: number,
    deleted: boolean,
  ) {
    this.deleted = deleted
  }

  get isGC(): boolean {
    return this.gc || this.real instanceof Y.GC
  }
}

export interface ModelResult {
  /** Work units the update costs Yjs (integration; deletes are counted by the caller). */
  readonly work: number
  readonly steps: number
  /** New structs Yjs will keep pending (a dependency is missing), and their bytes. */
  readonly pendingStructs: number
  readonly pendingBytes: number
}

/** Where an item's neighbours and parent are (getMissing's result). */
interface Resolved {
  readonly left: Node | null
  readonly right: Node | null
  readonly parent: ModelType | null
  readonly parentSub: string | null
  /** The origin and right origin as Yjs keeps them after resolving (normalized to piece boundaries). */
  readonly originClock: number
  readonly rightClock: number
}

interface ClientRefs {
  i: number
  readonly refs: number[]
}

/** integrateStructs' loop state, kept between calls so the model can run in slices of work. */
interface LoopState {
  readonly refs: Map<number, ClientRefs>
  ids: number[]
  readonly stack: number[]
  target: ClientRefs | null
  head: number
}

/**
 * Runs the model of `u` against `doc`. The model is single use; read results and placement
 * from it afterwards.
 */
export class IntegrationModel {
  private readonly store: Y.Doc['store']
  /** Pieces of each document struct the model touched, sorted by clock. */
  private readonly pieces = new Map<YStruct, Node[]>()
  /** New structs per client, sorted by clock (split pieces included). */
  private readonly fresh = new Map<number, Node[]>()
  private readonly types = new Map<YType, ModelType>()
  private readonly newTypes = new Map<Node, ModelType>()
  private readonly roots = new Map<string, ModelType>()
  /** Per client: the clock up to which the document (plus what the model integrated) has structs. */
  private readonly state = new Map<number, number>()
  /** Model node of each new struct index (its first piece), or undefined when not integrated. */
  readonly nodes: (Node | undefined)[]
  readonly pending: boolean[]
  /** Repair mode: clients left out because a struct of theirs scanned past `dropOver`. */
  readonly dropped = new Set<number>()
  private structSteps = 0
  /** New structs in the order Yjs integrates them. */
  readonly order: number[] = []
  /** Work units of each new struct's integration. */
  readonly workOf: Float64Array
  private loop: LoopState | null = null
  private done = false
  private work = 0
  private steps = 0
  private pendingStructs = 0
  private pendingBytes = 0
  private readonly conflicting = new Set<Node>()
  private readonly beforeOrigin = new Set<Node>()
  /** Splices into each client's struct array so far (the array grows by one per split). */
  private readonly grown = new Map<number, number>()

  constructor(
    private readonly doc: Y.Doc,
    /** The update being modelled. */
    readonly update: ScannedUpdate,
    /** Work units after which the model stops with OverBudget. */
    private readonly budget: number,
    /** Conflict-scan steps after which it stops with OverBudget. */
    private readonly maxSteps = Number.POSITIVE_INFINITY,
    /**
     * Repair mode (docs repair): a struct whose own conflict scan passes this many steps is
     * left out, with the rest of its client (`dropped`), instead of stopping the model.
     */
    private readonly dropOver = Number.POSITIVE_INFINITY,
  ) {
    this.store = doc.store
    const u = update
    this.nodes = new Array(u.count)
    this.pending = new Array(u.count).fill(false)
    this.workOf = new Float64Array(u.count)
  }

  /** Runs the model to the end (or OverBudget). */
  run(): ModelResult {
    while (!this.advance(Number.POSITIVE_INFINITY));
    return this.result
  }

  /**
   * Runs about `units` more work units, and stops at `deadline` (performance.now() ms) too,
   * whichever comes first: estimates can be off (cold code, a collection), the clock is not.
   * True once the model is complete.
   */
  advance(units: number, deadline = Number.POSITIVE_INFINITY): boolean {
    const until = this.work + units
    if (!this.done) {
      this.loop ??= this.startLoop()
      this.done = this.loop === null || this.integrateStructs(this.loop, until, deadline)
    }
    return this.done
  }

  get result(): ModelResult {
    return { work: this.work, steps: this.steps, pendingStructs: this.pendingStructs, pendingBytes: this.pendingBytes }
  }

  private spend(units: number): void {
    this.work += units
    if (this.work > this.budget) throw new OverBudget('work', this.budget)
  }

  private step(): void {
    if (++this.steps > this.maxSteps) throw new OverBudget('steps', this.maxSteps)
    if (++this.structSteps > this.dropOver) throw new TooCostly()
    this.spend(Work.step)
  }

  // ---- state and lookup ----

  private stateOf(client: number): number {
    let s = this.state.get(client)
    if (s === undefined) {
      s = Y.getState(this.store, client)
      this.state.set(client, s)
    }
    return s
  }

  /** A client's state once the update's structs are integrated. */
  stateAfter(client: number): number {
    return this.stateOf(client)
  }

  /** The document's state of a client (excluding what the model integrated). */
  private docState(client: number): number {
    return Y.getState(this.store, client)
  }

  /** A node for a document struct's piece holding `clock` (the whole struct when untouched). */
  private docNode(struct: YStruct, clock: number): Node {
    let list = this.pieces.get(struct)
    if (!list) {
      const item = struct instanceof Y.Item ? struct : null
      const n = new Node(
        struct.id.client,
        struct.id.clock,
        struct.length,
        item?.origin ? item.origin.client : -1,
        item?.origin ? item.origin.clock : 0,
        item?.rightOrigin ? item.rightOrigin.client : -1,
        item?.rightOrigin ? item.rightOrigin.clock : 0,
        struct,
        -1,
        item ? item.deleted : true,
      )
      if (item) {
        n.parent = item.parent instanceof Y.AbstractType ? this.typeOf(item.parent) : null
        n.parentSub = item.parentSub
      }
      list = [n]
      this.pieces.set(struct, list)
    }
    return list.length === 1 ? list[0]! : findPiece(list, clock)
  }

  /** The node holding an id (Yjs getItem: no split), or null when neither document nor update has it. */
  find(client: number, clock: number): Node | null {
    if (clock < this.docState(client)) {
      const struct = Y.getItem(this.store, Y.createID(client, clock)) as YStruct
      return this.docNode(struct, clock)
    }
    const list = this.fresh.get(client)
    if (!list || list.length === 0) return null
    const n = findPiece(list, clock)
    return clock >= n.clock && clock < n.clock + n.len ? n : null
  }

  /** First piece of a document struct. */
  private first(struct: YStruct): Node {
    return this.docNode(struct, struct.id.clock)
  }

  /** Last piece of a document struct. */
  private last(struct: YStruct): Node {
    const list = this.pieces.get(struct)
    return list ? list[list.length - 1]! : this.first(struct)
  }

  rightOf(n: Node): Node | null {
    if (n.right !== UNSET) return n.right
    // An untouched document struct, or its last piece: the document's neighbour.
    const r = (n.real as YItem).right
    return r ? this.first(r) : null
  }

  leftOf(n: Node): Node | null {
    if (n.left !== UNSET) return n.left
    const l = (n.real as YItem).left
    return l ? this.last(l) : null
  }

  typeOf(t: YType): ModelType {
    let m = this.types.get(t)
    if (!m) {
      m = new ModelType(t, null, t._item === null ? rootName(this.doc, t) : null)
      this.types.set(t, m)
    }
    return m
  }

  private rootType(name: string): ModelType {
    const real = this.doc.share.get(name)
    if (real) return this.typeOf(real)
    let m = this.roots.get(name)
    if (!m) {
      m = new ModelType(null, null, name)
      this.roots.set(name, m)
    }
    return m
  }

  /** The types this update creates, by the item holding each. */
  createdTypes(): IterableIterator<[Node, ModelType]> {
    return this.newTypes.entries()
  }

  /** The type a new ContentType item creates. */
  private newType(holder: Node): ModelType {
    let m = this.newTypes.get(holder)
    if (!m) {
      m = new ModelType(null, holder, null)
      this.newTypes.set(holder, m)
    }
    return m
  }

  startOf(t: ModelType): Node | null {
    if (t.start !== undefined) return t.start
    const s = t.real?._start
    return s ? this.first(s) : null
  }

  /** The current item of a map key (the last of its history). */
  keyOf(t: ModelType, key: string): Node | null {
    const n = t.key(key)
    if (n) return n
    const s = t.real?._map.get(key)
    return s ? this.last(s) : null
  }

  /** Whether the type's holder is deleted (its new items are deleted on arrival). */
  private typeDeleted(t: ModelType): boolean {
    if (t.item) return t.item.deleted
    return t.real?._item ? this.docNodeOfItem(t.real._item).deleted : false
  }

  private docNodeOfItem(item: YItem): Node {
    return this.first(item)
  }

  // ---- splits (Yjs splitItem through getItemCleanStart / getItemCleanEnd) ----

  /** Splits `n` so that a piece starts at `clock`; returns that piece. */
  private split(n: Node, clock: number): Node {
    const diff = clock - n.clock
    const piece = new Node(n.client, clock, n.len - diff, n.client, clock - 1, n.rightClient, n.rightClock, n.real, n.index, n.deleted)
    piece.parent = n.parent
    piece.parentSub = n.parentSub
    piece.gc = n.gc
    piece.left = n
    piece.right = this.rightOf(n)
    if (piece.right) piece.right.left = piece
    n.right = piece
    if (n.left === UNSET) n.left = this.leftOf(n)
    n.len = diff
    if (piece.parentSub !== null && piece.right === null && piece.parent) piece.parent.setKey(piece.parentSub, piece)
    const list = n.real ? this.pieces.get(n.real)! : this.fresh.get(n.client)!
    list.splice(indexOfPiece(list, n) + 1, 0, piece)
    // Yjs splices the piece into the client's struct array (a move of the array's tail), and
    // when the transaction ends it tries to merge the pieces again (another one).
    const grown = (this.grown.get(n.client) ?? 0) + 1
    this.grown.set(n.client, grown)
    this.spend(Work.struct + 2 * Work.move * ((this.store.clients.get(n.client)?.length ?? 0) + grown))
    return piece
  }

  private findOrThrow(client: number, clock: number): Node {
    const n = this.find(client, clock)
    if (!n) throw new BrokenReference(client, clock)
    return n
  }

  private cleanEnd(client: number, clock: number): Node {
    const n = this.findOrThrow(client, clock)
    if (clock !== n.clock + n.len - 1 && !n.isGC) this.split(n, clock + 1)
    return n
  }

  private cleanStart(client: number, clock: number): Node {
    const n = this.findOrThrow(client, clock)
    return n.clock < clock && !n.isGC ? this.split(n, clock) : n
  }

  // ---- integrateStructs ----

  private startLoop(): LoopState | null {
    const u = this.update
    const refs = new Map<number, ClientRefs>()
    for (const b of u.blocks) {
      const list: number[] = []
      for (let i = b.first; i < b.first + b.count; i++) list.push(i)
      if (list.length > 0) refs.set(b.client, { i: 0, refs: list })
    }
    const loop: LoopState = { refs, ids: [...refs.keys()].sort((a, b) => a - b), stack: [], target: null, head: -1 }
    loop.target = this.nextTarget(loop)
    if (!loop.target) return null
    loop.head = loop.target.refs[loop.target.i++]!
    return loop
  }

  private nextTarget(loop: LoopState): ClientRefs | null {
    while (loop.ids.length > 0) {
      const t = loop.refs.get(loop.ids[loop.ids.length - 1]!)!
      if (t.i < t.refs.length) return t
      loop.ids.pop()
    }
    return null
  }

  /** Yjs's addStackToRestSS: what is on the stack, and the rest of those clients, stays pending. */
  private toRest(loop: LoopState): void {
    const u = this.update
    for (const s of loop.stack) {
      const client = u.client[s]!
      const r = loop.refs.get(client)
      if (r) {
        r.i--
        for (let k = r.i; k < r.refs.length; k++) this.markPending(r.refs[k]!)
        loop.refs.delete(client)
        r.i = 0
        r.refs.length = 0
      } else this.markPending(s)
      // Yjs filters its list of client ids once per item on the stack.
      this.spend(Work.step * loop.ids.length)
      loop.ids = loop.ids.filter((c) => c !== client)
    }
    loop.stack.length = 0
  }

  /** Yjs's integrateStructs, resumable: returns true when done, false when `until` work is reached. */
  private integrateStructs(loop: LoopState, until: number, deadline: number): boolean {
    const u = this.update
    let n = 0
    for (;;) {
      const head = loop.head
      let next = true
      if (u.ref[head] !== Ref.Skip) {
        const client = u.client[head]!
        const offset = this.stateOf(client) - u.clock[head]!
        if (offset < 0) {
          loop.stack.push(head)
          this.toRest(loop)
        } else {
          const missing = this.missing(head)
          if (missing !== null) {
            loop.stack.push(head)
            const r = loop.refs.get(missing)
            if (!r || r.i === r.refs.length) this.toRest(loop)
            else {
              loop.head = r.refs[r.i++]!
              next = false
            }
          } else {
            // Yjs resolves neighbours and parent even of a struct it then skips (it has it all).
            const before = this.work
            const resolved = u.isItem(head) ? this.resolve(head) : null
            if (offset === 0 || offset < u.length[head]!) this.integrateOrDrop(loop, head, offset, resolved, before)
          }
        }
      }
      if (next) {
        if (loop.stack.length > 0) loop.head = loop.stack.pop()!
        else if (loop.target && loop.target.i < loop.target.refs.length) loop.head = loop.target.refs[loop.target.i++]!
        else {
          loop.target = this.nextTarget(loop)
          if (!loop.target) return true
          loop.head = loop.target.refs[loop.target.i++]!
        }
      }
      if (this.work >= until || ((++n & 31) === 0 && performance.now() >= deadline)) return false
    }
  }

  private integrateOrDrop(loop: LoopState, head: number, offset: number, resolved: Resolved | null, before: number): void {
    const u = this.update
    const client = u.client[head]!
    this.structSteps = 0
    try {
      this.integrate(head, offset, resolved)
    } catch (err) {
      if (!(err instanceof TooCostly)) throw err
      this.drop(loop, client, head)
      return
    }
    this.workOf[head] = this.work - before
    this.order.push(head)
    this.state.set(client, u.clock[head]! + u.length[head]!)
  }

  /** Repair mode: the client's struct being integrated and all after it are left out (what depends on them stays pending). */
  private drop(loop: LoopState, client: number, head: number): void {
    this.dropped.add(client)
    this.markPending(head)
    const r = loop.refs.get(client)
    if (r) {
      for (let k = Math.max(0, r.refs.indexOf(head)); k < r.refs.length; k++) this.markPending(r.refs[k]!)
      loop.refs.delete(client)
      r.i = 0
      r.refs.length = 0
    }
    loop.ids = loop.ids.filter((c) => c !== client)
  }

  private markPending(i: number): void {
    if (this.pending[i] || this.update.ref[i] === Ref.Skip) return
    this.pending[i] = true
    this.pendingStructs++
    this.pendingBytes += this.update.end[i]! - this.update.start[i]!
  }

  /** Yjs getMissing's first half: the client whose struct this one needs and nobody has yet. */
  private missing(i: number): number | null {
    const u = this.update
    if (!u.isItem(i)) return null
    const client = u.client[i]!
    const oc = u.originClient[i]!
    if (oc !== -1 && oc !== client && u.originClock[i]! >= this.stateOf(oc)) return oc
    const rc = u.rightClient[i]!
    if (rc !== -1 && rc !== client && u.rightClock[i]! >= this.stateOf(rc)) return rc
    const pc = u.parentClient[i]!
    if (pc !== -1 && pc !== client && u.parentClock[i]! >= this.stateOf(pc)) return pc
    return null
  }

  // ---- one struct (getMissing's second half + Item.integrate) ----

  /**
   * Yjs getMissing's second half, which it runs for every item of an update (also one it
   * already has and then skips): find the neighbours (splitting items to reach them) and the
   * parent. A reference to nothing would make Yjs throw half-way: BrokenReference.
   */
  private resolve(i: number): Resolved {
    const u = this.update
    let left: Node | null = null
    let right: Node | null = null
    // As Yjs: the origin is the left piece's last id as it ends now (a split for the right
    // origin may shorten that piece later), the right origin the right piece's first id.
    let originClock = u.originClock[i]!
    let rightClock = u.rightClock[i]!
    if (u.originClient[i] !== -1) {
      left = this.cleanEnd(u.originClient[i]!, u.originClock[i]!)
      originClock = left.clock + left.len - 1
    }
    if (u.rightClient[i] !== -1) {
      right = this.cleanStart(u.rightClient[i]!, u.rightClock[i]!)
      rightClock = right.clock
    }
    let parent: ModelType | null = null
    let parentSub: string | null = u.parentSub[i] === -1 ? null : u.strings[u.parentSub[i]!]!
    if (left?.isGC || right?.isGC) parent = null
    else if (u.parentRoot[i] !== -1) parent = this.rootType(u.strings[u.parentRoot[i]!]!)
    else if (u.parentClient[i] !== -1) parent = this.typeHeldBy(this.findOrThrow(u.parentClient[i]!, u.parentClock[i]!))
    else {
      const from = left && !left.isGC ? left : right && !right.isGC ? right : null
      if (from) {
        parent = from.parent
        parentSub = from.parentSub
      }
    }
    return { left, right, parent, parentSub, originClock, rightClock }
  }

  private integrate(i: number, offset: number, resolved: Resolved | null): void {
    const u = this.update
    const client = u.client[i]!
    this.spend(Work.struct + Work.byte * (u.end[i]! - u.start[i]!) + (this.fresh.has(client) ? 0 : Work.client))
    const node = new Node(
      client,
      u.clock[i]! + offset,
      u.length[i]! - offset,
      u.originClient[i]!,
      u.originClock[i]!,
      u.rightClient[i]!,
      u.rightClock[i]!,
      null,
      i,
      u.ref[i] === Ref.Deleted,
    )
    if (!resolved) {
      node.gc = true
      this.add(i, node)
      return
    }
    let { left } = resolved
    const { right, parent, parentSub } = resolved
    node.originClock = resolved.originClock
    node.rightClock = resolved.rightClock
    if (offset > 0) {
      // Yjs integrates only the part it does not have, after its own previous struct.
      left = this.cleanEnd(client, node.clock - 1)
      node.originClient = client
      node.originClock = left.clock + left.len - 1
    }
    if (!parent) {
      node.gc = true
      this.add(i, node)
      return
    }
    node.parent = parent
    node.parentSub = parentSub
    this.place(node, left, right)
    this.add(i, node)
  }

  /** The type a holder item creates; null when it holds none (Yjs then makes the item GC). */
  typeHeldBy(holder: Node): ModelType | null {
    if (holder.isGC) return null
    if (holder.real) {
      const content = (holder.real as YItem).content
      return content instanceof Y.ContentType ? this.typeOf(content.type as YType) : null
    }
    return this.update.ref[holder.index] === Ref.Type ? this.newType(this.firstOfNew(holder)) : null
  }

  /** A new struct's first piece (types are held by length-1 items, so it is the node itself). */
  private firstOfNew(n: Node): Node {
    return this.nodes[n.index] ?? n
  }

  private add(i: number, node: Node): void {
    this.nodes[i] = node
    let list = this.fresh.get(node.client)
    if (!list) this.fresh.set(node.client, (list = []))
    list.push(node)
  }

  /** Item.integrate's placement: the conflict scan, then linking. */
  private place(x: Node, leftIn: Node | null, right: Node | null): void {
    const parent = x.parent!
    let left = leftIn
    if ((!left && (!right || this.leftOf(right) !== null)) || (left && this.rightOf(left) !== right)) {
      let o: Node | null = left ? this.rightOf(left) : x.parentSub !== null ? this.keyStart(parent, x.parentSub) : this.startOf(parent)
      // One pair of sets for every scan (a bomb makes thousands of scans of thousands of items).
      const conflicting = this.conflicting
      const beforeOrigin = this.beforeOrigin
      conflicting.clear()
      beforeOrigin.clear()
      while (o !== null && o !== right) {
        this.step()
        beforeOrigin.add(o)
        conflicting.add(o)
        if (x.originClient === o.originClient && (x.originClient === -1 || x.originClock === o.originClock)) {
          if (o.client < x.client) {
            left = o
            conflicting.clear()
          } else if (x.rightClient === o.rightClient && (x.rightClient === -1 || x.rightClock === o.rightClock)) break
        } else if (o.originClient !== -1) {
          const oo = this.find(o.originClient, o.originClock)
          if (oo && beforeOrigin.has(oo)) {
            if (!conflicting.has(oo)) {
              left = o
              conflicting.clear()
            }
          } else break
        } else break
        o = this.rightOf(o)
      }
    }
    // Link.
    let r: Node | null
    if (left) {
      r = this.rightOf(left)
      left.right = x
    } else if (x.parentSub !== null) r = this.keyStart(parent, x.parentSub)
    else {
      r = this.startOf(parent)
      parent.start = x
    }
    x.left = left
    x.right = r
    if (r) r.left = x
    else if (x.parentSub !== null) {
      parent.setKey(x.parentSub, x)
      // The previous value of the key is overwritten.
      if (left) left.deleted = true
    }
    if (this.typeDeleted(parent) || (x.parentSub !== null && r !== null)) x.deleted = true
  }

  /** The first item in a map key's history (Yjs walks left from the current one). */
  private keyStart(t: ModelType, key: string): Node | null {
    let o = this.keyOf(t, key)
    while (o !== null) {
      const l = this.leftOf(o)
      if (l === null) break
      this.step()
      o = l
    }
    return o
  }
}

function indexOfPiece(list: readonly Node[], n: Node): number {
  return pieceIndex(list, n.clock)
}

/** The piece of a clock-sorted list holding `clock` (or the last one before it). */
function findPiece(list: readonly Node[], clock: number): Node {
  return list[pieceIndex(list, clock)]!
}

function pieceIndex(list: readonly Node[], clock: number): number {
  let lo = 0
  let hi = list.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (list[mid]!.clock <= clock) lo = mid
    else hi = mid - 1
  }
  return lo
}

function rootName(doc: Y.Doc, t: YType): string | null {
  for (const [name, type] of doc.share) if (type === t) return name
  return null
}
