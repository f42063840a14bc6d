/**
 * Group commit: updates accepted from clients are collected for at most FLUSH_INTERVAL_MS,
 * merged per document and written in one durable store append. One write is in flight at
 * a time; whatever arrives meanwhile forms the next group. A failing store keeps every
 * update in memory and retries with capped exponential backoff until it succeeds or the
 * owner closes (and then reports what could not be written).
 *
 * What is durable is reported one way, through `watermark` (server/documents/durability.ts):
 * its marks are this group commit's generations, moved forward when an append is durable and,
 * with a tiered store, when the store says the append reached the shared store.
 */
import type { AppendEntry, DocStore } from '../../persistence/doc-store.ts'
import { backoffMs, type Backoff } from '../../shared/backoff.ts'
import { coalesce } from './coalesce.ts'

/**
 * Updates of one document in one window from which they are merged into one log entry: a hot
 * document (50 editors, a dozen updates a window) merges; a quiet one appends its one or two as
 * they are — an LMDB entry costs microseconds, a merge tens (scenario 3 of npm run bench: CPU
 * per delivery 0.92×, p99 0.65× merging from 3).
 */
const LOG_MERGE_FROM = 8
import type { DurableWatermark } from './durability.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'

export interface GroupCommitOptions {
  readonly store: DocStore
  readonly intervalMs: number
  readonly logger: Logger
  readonly metrics: Metrics
  /** Called after each durable append with the names it contained. */
  readonly onDurable?: (names: readonly string[]) => void
}

interface Waiter {
  readonly generation: number
  readonly resolve: () => void
}

/** Retrying a failed append: from 50 ms, doubling, at most 5 s apart. */
const RETRY: Backoff = { baseMs: 50, maxMs: 5_000 }

export class GroupCommit {
  private pending = new Map<string, Uint8Array[]>()
  private pendingCount = 0
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  private inFlightNames: ReadonlySet<string> = new Set()
  private inFlightCount = 0
  /** Generations: of the last enqueued update (`handed`), and the last durable here and in the shared store. */
  private readonly marks = { handed: 0, local: 0, shared: 0 }
  private waiters: Waiter[] = []
  private failures = 0
  private closed = false

  constructor(private readonly opts: GroupCommitOptions) {}

  /** True while the last write succeeded (readiness). */
  get healthy(): boolean {
    return this.failures === 0
  }

  /** What is durable, for readers that must not reach in here (the cluster; client acknowledgements). */
  get watermark(): DurableWatermark {
    return this.marks
  }

  get pendingUpdates(): number {
    return this.pendingCount + (this.inFlight ? this.inFlightCount : 0)
  }

  /** Whether updates of this document are queued or being written. */
  hasPending(name: string): boolean {
    return this.pending.has(name) || this.inFlightNames.has(name)
  }

  enqueue(name: string, update: Uint8Array): void {
    const list = this.pending.get(name)
    if (list) list.push(update)
    else this.pending.set(name, [update])
    this.pendingCount++
    this.marks.handed++
    this.opts.metrics.storagePendingUpdates.set(this.pendingCount)
    this.schedule(this.opts.intervalMs)
  }

  /** Resolves when everything enqueued before this call is durable. */
  flushed(): Promise<void> {
    if (this.marks.local >= this.marks.handed) return Promise.resolve()
    const generation = this.marks.handed
    const promise = new Promise<void>((resolve) => this.waiters.push({ generation, resolve }))
    this.schedule(0)
    return promise
  }

  private schedule(delayMs: number): void {
    if (this.inFlight || this.closed) return // the in-flight write reschedules when it ends
    if (this.timer) {
      if (delayMs > 0) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = null
      void this.write()
    }, delayMs)
  }

  private write(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve()
    const batch = this.pending
    const count = this.pendingCount
    const generation = this.marks.handed
    this.pending = new Map()
    this.pendingCount = 0
    const entries: AppendEntry[] = []
    for (const [name, updates] of batch) for (const update of coalesce(updates, LOG_MERGE_FROM)) entries.push({ name, update })
    this.inFlightNames = new Set(batch.keys())
    this.inFlightCount = count
    const stopTimer = this.opts.metrics.storageFlush.startTimer()
    this.inFlight = this.opts.store.append(entries).then(
      (receipt) => {
        stopTimer()
        this.failures = 0
        this.marks.local = generation
        if (receipt) void receipt.shared.then(() => (this.marks.shared = Math.max(this.marks.shared, generation)))
        else this.marks.shared = generation
        this.opts.metrics.storagePendingUpdates.set(this.pendingCount)
        const done = this.waiters.filter((w) => w.generation <= generation)
        this.waiters = this.waiters.filter((w) => w.generation > generation)
        for (const w of done) w.resolve()
        this.opts.onDurable?.(entries.map((e) => e.name))
      },
      (err: unknown) => {
        this.failures++
        this.opts.metrics.storageFlushFailures.inc()
        // Put the batch back in front of anything newer; order within a document is kept.
        for (const [name, updates] of this.pending) batch.set(name, [...(batch.get(name) ?? []), ...updates])
        this.pending = batch
        this.pendingCount += count
        this.opts.logger.error({ err, updates: this.pendingCount, attempt: this.failures }, 'storage append failed; keeping updates in memory and retrying')
      },
    )
    return this.inFlight.finally(() => {
      this.inFlight = null
      this.inFlightNames = new Set()
      if (this.pendingCount > 0 && !this.closed) {
        const backoff = this.failures === 0 ? (this.waiters.length > 0 ? 0 : this.opts.intervalMs) : backoffMs(this.failures - 1, RETRY)
        this.schedule(backoff)
      }
    })
  }

  /**
   * Writes everything pending, retrying until the deadline. Resolves with the number of
   * updates that could not be made durable (0 on success). Idempotent.
   */
  async close(deadline: number): Promise<number> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    while (Date.now() < deadline) {
      // A write that hangs (a store that never answers) must not hold shutdown past the deadline.
      if (this.inFlight) await Promise.race([this.inFlight.catch(() => {}), sleep(deadline - Date.now())])
      if (this.inFlight) break
      if (this.pendingCount === 0) break
      await this.write()
      if (this.failures > 0) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))))
    }
    return this.pendingCount + (this.inFlight ? this.inFlightCount : 0)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref())
}
