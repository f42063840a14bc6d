/**
 * Admission of one update to one document: everything decided before Yjs sees a byte.
 *
 *   scan      linear pass over the raw update (Scanner), bounded in structs and delete ranges
 *   shape     new client ids, new top-level types, subdocuments, merged delete ranges
 *   model     what integration will cost (IntegrationModel): all work, and conflict scans
 *             against a bound linear in the update (the concurrent-insert bomb signature)
 *   deletes   the merged delete set's work; deletes Yjs would keep pending. Structs that depend
 *             on content the server does not have are refused (`order`, retryable): Yjs would keep
 *             them and integrate them later, outside any check (a client that reconnects sends
 *             them with what they depend on)
 *   check     an extra check of the caller's (the site schema guard), on the model
 *   plan      slices of at most `sliceWork` each, in Yjs's order
 *
 * Each phase runs in slices of work (`advance`), so admitting an 8 MB update never holds the
 * event loop; a hostile update costs at most its bounds here and nothing in Yjs. The document
 * must not change between the first `advance` and applying the plan (the caller's DocWriter
 * holds it). The result is a plan or a refusal that names the bound.
 */
import * as Y from 'yjs'
import { deletePieces, MergedDeletes, type RangePiece } from './deletes.ts'
import { maxSteps, type UpdateLimits } from './limits.ts'
import { BrokenReference, IntegrationModel, MODEL_NS_PER_UNIT, OverBudget } from './model.ts'
import { Ref, Scanner, TooMany, UpdateFormatError } from './scan.ts'
import { planSlices, type SlicePlan } from './slices.ts'
import { AtriumError } from '../../shared/errors.ts'

/**
 * Why an update was refused: `invalid` (Yjs could not apply it), `limit` (over a bound),
 * `schema`, `order` (it depends on content the server does not have yet: retry after a resync).
 */
export interface Refusal {
  readonly kind: 'invalid' | 'limit' | 'schema' | 'order'
  /** The bound, for `limit` (metrics label): structs, new_clients, delete_ranges, work, conflicts, pending, roots, subdocuments. */
  readonly limit?: string
  readonly detail: string
}

export interface Admitted {
  readonly plan: SlicePlan
  /** Client ids this update adds to the document. */
  readonly newClients: number
  readonly work: number
  readonly steps: number
}

/** An extra check run on the model (the site schema guard); throws to refuse. */
export interface Check {
  /** Runs about `units` more work units, stopping at `deadline` (performance.now() ms) too; true when passed. */
  advance(units: number, deadline?: number): boolean
}
export type CheckFactory = (doc: Y.Doc, model: IntegrationModel, deletes: MergedDeletes) => Check
/** Maps a check's exception to a refusal (null: not a refusal, rethrow). */
export type CheckFailure = (err: unknown) => Refusal | null

export interface AdmissionOptions {
  readonly limits: UpdateLimits
  /** New client ids this update may still add (per-connection budget). */
  readonly newClientsLeft?: number
  readonly check?: CheckFactory
  readonly checkFailure?: CheckFailure
  /** Work of one slice of the plan. */
  readonly sliceWork: number
}

class Refused extends AtriumError {
  override readonly name = 'Refused'
  constructor(readonly refusal: Refusal) {
    super(refusal.detail)
  }
}

const refuse = (kind: Refusal['kind'], detail: string, limit?: string): never => {
  throw new Refused(limit ? { kind, limit, detail } : { kind, detail })
}

/** Scanning costs about this many work units per byte. */
const SCAN_WORK_PER_BYTE = 12

export class Admission {
  private readonly scanner: Scanner
  private model: IntegrationModel | null = null
  private deletes: MergedDeletes | null = null
  private check: Check | null = null
  private pieces: RangePiece[] = []
  private phase: 'scan' | 'shape' | 'model' | 'deletes' | 'check' | 'plan' | 'done' = 'scan'
  private work = 0
  private outcome: Admitted | Refusal | null = null

  constructor(
    private readonly doc: Y.Doc,
    readonly bytes: Uint8Array,
    private readonly opts: AdmissionOptions,
  ) {
    const { limits } = opts
    // Raw ranges: duplicates are allowed (they merge away), up to a multiple of the merged bound.
    this.scanner = new Scanner(bytes, {
      maxStructs: limits.maxStructs,
      maxDeleteRanges: limits.maxDeleteRanges * 4,
      newClients: { known: (client) => doc.store.clients.has(client), max: this.newClientsAllowed() },
    })
  }

  /** The decision, once `advance` returned true. */
  get result(): Admitted | Refusal {
    if (!this.outcome) throw new Error('admission not finished')
    return this.outcome
  }

  /** Runs about `units` more work units of admission; true once decided. */
  advance(units: number): boolean {
    if (this.outcome) return true
    try {
      this.run(units)
    } catch (err) {
      if (err instanceof Refused) this.outcome = err.refusal
      else if (err instanceof UpdateFormatError || err instanceof BrokenReference) this.outcome = { kind: 'invalid', detail: err.message }
      else if (err instanceof TooMany)
        this.outcome = {
          kind: 'limit',
          limit: LIMIT_NAMES[err.what],
          detail: err.what === 'new client ids' ? this.newClientsDetail(err.limit + 1) : err.message,
        }
      else if (err instanceof OverBudget) {
        this.outcome =
          err.kind === 'steps'
            ? {
                kind: 'limit',
                limit: 'conflicts',
                detail: `concurrent inserts at one position cost more than ${err.limit} scan steps (bound: ${this.opts.limits.stepsFloor} + ${this.opts.limits.stepsPerStruct} per struct)`,
              }
            : { kind: 'limit', limit: 'work', detail: `integrating it would cost more than ${Math.round(err.limit / 1e6)} ms of work` }
      } else {
        const refusal = this.opts.checkFailure?.(err)
        if (!refusal) throw err
        this.outcome = refusal
      }
    }
    return this.outcome !== null
  }

  private run(units: number): void {
    let budget = units
    // Work units are about nanoseconds; the clock bounds a slice whatever the estimates say.
    const deadline = performance.now() + units / 1e6
    const spent = (w: number) => {
      budget -= w
      return budget <= 0
    }
    if (this.phase === 'scan') {
      const from = this.scanner.position
      const done = this.scanner.advance(Math.max(1, Math.floor(budget / SCAN_WORK_PER_BYTE)), deadline)
      spent((this.scanner.position - from) * SCAN_WORK_PER_BYTE)
      if (!done) return
      this.phase = 'shape'
    }
    const u = this.scanner.update
    const { limits } = this.opts
    if (this.phase === 'shape') {
      this.shape()
      this.model = new IntegrationModel(this.doc, u, limits.maxWork, maxSteps(limits, u.count))
      this.phase = 'model'
    }
    const model = this.model!
    if (this.phase === 'model') {
      const before = model.result.work
      // Work units are Yjs's time; the model takes longer per unit than Yjs does.
      const done = model.advance(budget / MODEL_NS_PER_UNIT, deadline)
      spent((model.result.work - before) * MODEL_NS_PER_UNIT)
      if (!done) return
      this.phase = 'deletes'
    }
    if (this.phase === 'deletes') {
      const deletes = this.deletes!
      const result = model.result
      // Cut once, with the slices' budget: the plan reuses the pieces.
      const dw = deletePieces(this.doc, deletes, (c) => model.stateAfter(c), this.opts.sliceWork)
      this.pieces = dw.pieces
      this.work = result.work + dw.work
      if (this.work > limits.maxWork)
        refuse('limit', `integrating it would cost about ${Math.round(this.work / 1e6)} ms of work (limit ${Math.round(limits.maxWork / 1e6)} ms)`, 'work')
      if (result.pendingStructs > 0 && result.pendingBytes > limits.maxPendingBytes) {
        refuse('order', `${result.pendingStructs} structs depend on content the server does not have yet; reconnect to send them with it`)
      }
      if (limits.maxPendingDeleteRanges !== Number.POSITIVE_INFINITY) {
        const pendingDeletes = dw.pendingRanges + pendingDeleteRanges(this.doc.store.pendingDs)
        if (pendingDeletes > limits.maxPendingDeleteRanges)
          refuse('limit', `${pendingDeletes} deleted ranges would be past what the server has (limit ${limits.maxPendingDeleteRanges} waiting)`, 'pending')
      }
      spent(dw.work / 100)
      this.check = this.opts.check?.(this.doc, model, deletes) ?? null
      this.phase = this.check ? 'check' : 'plan'
      if (budget <= 0) return
    }
    if (this.phase === 'check') {
      if (!this.check!.advance(budget, deadline)) return
      this.phase = 'plan'
    }
    if (this.phase === 'plan') {
      const plan = planSlices(u, model, this.deletes!, this.pieces, this.opts.sliceWork)
      this.outcome = { plan, newClients: this.scanner.newClients, work: this.work, steps: model.result.steps }
      this.phase = 'done'
    }
  }

  private newClientsAllowed(): number {
    return Math.min(this.opts.limits.maxNewClients, this.opts.newClientsLeft ?? Number.POSITIVE_INFINITY)
  }

  private newClientsDetail(count: number): string {
    const left = this.newClientsAllowed()
    return left < this.opts.limits.maxNewClients
      ? `more than ${left} new client ids; this connection may add ${left} more`
      : `${count} or more new client ids in one update (limit ${this.opts.limits.maxNewClients})`
  }

  /** Bounds that do not need the model: new top-level types, subdocuments, merged deletes. */
  private shape(): void {
    const u = this.scanner.update
    const { limits } = this.opts
    const roots = new Set<string>()
    for (let i = 0; i < u.count; i++) {
      if (u.ref[i] === Ref.Doc) refuse('limit', 'subdocuments are not supported', 'subdocuments')
      const r = u.parentRoot[i]!
      if (r !== -1 && !this.doc.share.has(u.strings[r]!)) roots.add(u.strings[r]!)
    }
    if (roots.size > limits.maxNewRoots || this.doc.share.size + roots.size > limits.maxRoots) {
      refuse('limit', `${roots.size} new top-level types (at most ${limits.maxNewRoots} per update, ${limits.maxRoots} per document)`, 'roots')
    }
    this.deletes = MergedDeletes.from(u.deletes)
    if (this.deletes.ranges > limits.maxDeleteRanges)
      refuse('limit', `${this.deletes.ranges} deleted ranges (limit ${limits.maxDeleteRanges})`, 'delete_ranges')
  }
}

const LIMIT_NAMES = { structs: 'structs', 'delete ranges': 'delete_ranges', 'new client ids': 'new_clients' } as const

/** Ranges in a document's pending delete set, per encoding (Yjs replaces the array when it changes). */
const pendingCounts = new WeakMap<Uint8Array, number>()

function pendingDeleteRanges(pendingDs: Uint8Array | null): number {
  if (!pendingDs) return 0
  let n = pendingCounts.get(pendingDs)
  if (n === undefined) {
    n = 0
    for (const list of Y.decodeUpdateV2(pendingDs).ds.clients.values()) n += list.length
    pendingCounts.set(pendingDs, n)
  }
  return n
}
