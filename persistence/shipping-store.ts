/**
 * A tiered DocStore for cluster deployments: the node's embedded outbox is the write-ahead
 * log, a shared store (MongoDB) is where every node loads documents from.
 *
 * - `append` is durable when the outbox write is (the group-commit window, as in embedded
 *   mode); a background shipper moves outbox entries to the shared store in batches,
 *   merged per document, and removes them from the outbox only after the shared store
 *   confirmed them. A crash between the two ships them again: a duplicate Yjs update,
 *   which merges idempotently and is folded away by the next compaction.
 * - While the shared store is down or slow the node keeps accepting edits: shipping retries
 *   with capped backoff, and once the queue is long, each document's queued entries are
 *   merged into one, so the queue grows with what changed, not with how often. It is
 *   bounded (`maxQueueBytes`): past it, appends fail, the group commit keeps the updates in
 *   memory and retries, and readiness says so.
 * - `load` reads the shared store (it throws when that is unreachable: a document is never
 *   served from a partial copy) and adds whatever of the document is still queued here.
 */
import * as Y from 'yjs'
import { backoffMs } from '../shared/backoff.ts'
import type { AppendEntry, AppendReceipt, CompactionBasis, DocInfo, DocStore, ListOptions, StoredDoc, VersionInfo } from './doc-store.ts'
import type { Outbox, OutboxEntry } from './outbox.ts'
import { AtriumError } from '../shared/errors.ts'

export interface ShippingObserver {
  shipped?(entries: number, bytes: number, seconds: number): void
  failed?(err: unknown, attempt: number): void
  coalesced?(name: string, entries: number, bytesBefore: number, bytesAfter: number): void
}

export interface ShippingStoreOptions {
  readonly outbox: Outbox
  /** The store every node shares. */
  readonly remote: DocStore
  /** Merges one document's updates (default: Y.mergeUpdates on this thread; Atrium uses its worker pool). */
  readonly merge?: (updates: readonly Uint8Array[]) => Promise<Uint8Array> | Uint8Array
  /** Largest batch shipped at once. */
  readonly batchEntries?: number
  readonly batchBytes?: number
  /** Past this many queued bytes, appends fail (and are retried from memory by the caller). */
  readonly maxQueueBytes?: number
  /** While shipping fails, merge each document's queued entries once the queue holds this many. */
  readonly coalesceEntries?: number
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
}

export class ShippingQueueFullError extends AtriumError {
  override readonly name = 'ShippingQueueFullError'
  constructor(
    readonly bytes: number,
    readonly max: number,
  ) {
    super(`shipping queue holds ${bytes} bytes, over its limit of ${max}: the shared store is not keeping up`)
  }
}

export class ShippingStore implements DocStore {
  readonly kind: string
  readonly shared = true
  readonly outbox: Outbox
  readonly remote: DocStore
  private readonly merge: (updates: readonly Uint8Array[]) => Promise<Uint8Array> | Uint8Array
  private readonly batchEntries: number
  private readonly batchBytes: number
  readonly maxQueueBytes: number
  private readonly coalesceEntries: number
  private failures = 0
  private coalescedAt = 0
  private sleeper: { resolve: () => void; forWork: boolean } | null = null
  private settledWaiters: { name: string; resolve: () => void }[] = []
  /** Appends waiting to be shipped: the last outbox key of each, in key order. */
  private shippedWaiters: { key: number; resolve: () => void }[] = []
  private closed = false
  private readonly loop: Promise<void>
  /** Told of each batch shipped, each failed attempt and each merge of queued entries. */
  observer: ShippingObserver = {}
  /** Told after each confirmed batch: document → entries it added to the shared log. */
  onShipped: ((names: ReadonlyMap<string, number>) => void) | null = null

  constructor(private readonly opts: ShippingStoreOptions) {
    this.outbox = opts.outbox
    this.remote = opts.remote
    this.kind = `${opts.remote.kind}+outbox`
    this.merge = opts.merge ?? ((updates) => Y.mergeUpdates([...updates]))
    this.batchEntries = opts.batchEntries ?? 1000
    this.batchBytes = opts.batchBytes ?? 4 * 1024 * 1024
    this.maxQueueBytes = opts.maxQueueBytes ?? 1024 ** 3
    this.coalesceEntries = opts.coalesceEntries ?? 1000
    this.loop = this.run()
  }

  /** False after a failed shipping attempt, until one succeeds. */
  get shippingHealthy(): boolean {
    return this.failures === 0
  }

  get queueFull(): boolean {
    return this.outbox.bytes >= this.maxQueueBytes
  }

  async load(name: string): Promise<StoredDoc | null> {
    // Queue first, shared store second: an entry shipped (and removed here) in between is
    // then read twice, harmlessly, instead of not at all.
    const queued = this.outbox.updatesOf(name)
    const shared = await this.remote.load(name)
    if (!shared && queued.length === 0) return null
    return {
      snapshot: shared?.snapshot ?? null,
      snapshotStateVector: shared?.snapshotStateVector ?? null,
      updates: shared ? [...shared.updates, ...queued] : queued,
      throughSeq: shared?.throughSeq ?? 0,
      // Compaction works on the shared store alone; queued entries are not in it yet.
      basis: shared?.basis ?? { version: 0, seqs: [] },
    }
  }

  /** Durable here when it resolves; its receipt's `shared` resolves once MongoDB confirmed every entry up to these. */
  async append(entries: readonly AppendEntry[]): Promise<AppendReceipt> {
    if (this.queueFull) throw new ShippingQueueFullError(this.outbox.bytes, this.maxQueueBytes)
    const last = await this.outbox.append(entries)
    this.wake()
    if (last <= this.outbox.confirmedThrough()) return { shared: Promise.resolve() }
    // Appends land in key order (the outbox serializes its writes), so the list stays sorted.
    return { shared: new Promise((resolve) => this.shippedWaiters.push({ key: last, resolve })) }
  }

  compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, basis: CompactionBasis, fence?: number): Promise<boolean> {
    return this.remote.compact(name, snapshot, stateVector, basis, fence)
  }

  async list(options: ListOptions): Promise<string[]> {
    const shared = await this.remote.list(options)
    const queued = [...this.outbox.names().keys()].filter((n) => options.after === undefined || n > options.after)
    return [...new Set([...shared, ...queued])].sort().slice(0, options.limit)
  }

  async info(name: string): Promise<DocInfo | null> {
    const shared = await this.remote.info(name)
    const queued = this.outbox.updatesOf(name)
    if (queued.length === 0) return shared
    const queuedBytes = queued.reduce((n, u) => n + u.length, 0)
    return {
      name,
      snapshotBytes: shared?.snapshotBytes ?? 0,
      logLength: (shared?.logLength ?? 0) + queued.length,
      logBytes: (shared?.logBytes ?? 0) + queuedBytes,
      throughSeq: shared?.throughSeq ?? 0,
    }
  }

  /** Deletes from the shared store; refuses while updates of the document are still queued here. */
  async delete(name: string): Promise<boolean> {
    if (this.outbox.has(name)) throw new Error(`${name} has updates waiting to be shipped; delete it once they are`)
    return this.remote.delete(name)
  }

  /** Named versions live in the shared store only (they need it reachable). */
  saveVersion(name: string, label: string, state: Uint8Array): Promise<VersionInfo> {
    return this.remote.saveVersion(name, label, state)
  }

  listVersions(name: string): Promise<VersionInfo[]> {
    return this.remote.listVersions(name)
  }

  loadVersion(name: string, id: string): Promise<{ info: VersionInfo; state: Uint8Array } | null> {
    return this.remote.loadVersion(name, id)
  }

  settled(name: string): Promise<void> {
    if (!this.outbox.has(name) || this.closed) return Promise.resolve()
    return new Promise((resolve) => this.settledWaiters.push({ name, resolve }))
  }

  /** Ships what is queued until the queue is empty or the deadline passes. */
  async drain(deadline: number): Promise<void> {
    while (this.outbox.entries > 0 && Date.now() < deadline && !this.closed) {
      this.wake()
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Stops shipping (what is queued stays in the outbox for the next start) and closes both stores. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.sleeper?.resolve()
    for (const w of this.settledWaiters) w.resolve()
    this.settledWaiters = []
    this.shippedWaiters = [] // not shipped: never resolved
    // A shipping attempt in flight ends with its driver timeout; shutdown does not wait that long.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000).unref())])
    await this.outbox.close()
    await this.remote.close()
  }

  // ---- the shipper ----

  /** New work arrived: ends an idle wait, never a backoff (that would make a tight retry loop). */
  private wake(): void {
    if (this.sleeper?.forWork) this.sleeper.resolve()
  }

  private sleep(ms: number, forWork: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.sleeper = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.sleeper = { resolve: done, forWork }
    })
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.outbox.entries === 0) {
        await this.sleep(60_000, true)
        continue
      }
      try {
        await this.shipOne()
        this.failures = 0
      } catch (err) {
        if (this.closed) break
        this.failures++
        this.observer.failed?.(err, this.failures)
        await this.coalesceIfLong().catch((e: unknown) => this.observer.failed?.(e, this.failures))
        const backoff = backoffMs(this.failures - 1, { baseMs: this.opts.minBackoffMs ?? 100, maxMs: this.opts.maxBackoffMs ?? 5000 })
        await this.sleep(backoff, false)
      }
    }
  }

  private async shipOne(): Promise<void> {
    const started = performance.now()
    const batch = this.outbox.peek(this.batchEntries, this.batchBytes)
    const groups = new Map<string, OutboxEntry[]>()
    for (const entry of batch) {
      const group = groups.get(entry.name)
      if (group) group.push(entry)
      else groups.set(entry.name, [entry])
    }
    const merged: AppendEntry[] = []
    let bytes = 0
    for (const [name, entries] of groups) {
      const update = entries.length === 1 ? entries[0]!.update : await this.merge(entries.map((e) => e.update))
      merged.push({ name, update })
      bytes += update.length
    }
    await this.remote.append(merged)
    // Confirmed: only now may the local copies go.
    await this.outbox.remove(batch.map((e) => e.key))
    this.observer.shipped?.(batch.length, bytes, (performance.now() - started) / 1000)
    this.onShipped?.(new Map([...groups.keys()].map((name) => [name, 1])))
    const through = this.outbox.confirmedThrough()
    let shipped = 0
    while (shipped < this.shippedWaiters.length && this.shippedWaiters[shipped]!.key <= through) this.shippedWaiters[shipped++]!.resolve()
    if (shipped > 0) this.shippedWaiters.splice(0, shipped)
    if (this.settledWaiters.length > 0) {
      const done = this.settledWaiters.filter((w) => !this.outbox.has(w.name))
      this.settledWaiters = this.settledWaiters.filter((w) => this.outbox.has(w.name))
      for (const w of done) w.resolve()
    }
  }

  /**
   * While shipping fails and the queue is long: merge each document's consecutive entries
   * into as few as possible, each at most one batch in size (a merge far over a MongoDB
   * document's size would have to ship in parts, and a part written before a failure is
   * left behind). Once per growth step of the queue, not after every failed attempt.
   */
  private async coalesceIfLong(): Promise<void> {
    if (this.outbox.entries < this.coalesceEntries || this.outbox.entries < 2 * this.coalescedAt) return
    for (const [name, count] of this.outbox.names()) {
      if (count < 2 || this.closed) continue
      const keys = this.outbox.keysOf(name)
      const updates = this.outbox.updatesOf(name)
      let run = 0
      let runBytes = 0
      for (let i = 0; i <= keys.length; i++) {
        if (i < keys.length && runBytes + updates[i]!.length <= this.batchBytes) {
          runBytes += updates[i]!.length
          continue
        }
        if (i - run >= 2) {
          const update = await this.merge(updates.slice(run, i))
          await this.outbox.replace(name, keys.slice(run, i), update)
          this.observer.coalesced?.(name, i - run, runBytes, update.length)
        }
        run = i
        runBytes = i < keys.length ? updates[i]!.length : 0
      }
    }
    this.coalescedAt = Math.max(1, this.outbox.entries)
  }
}
