/**
 * Decides when a document's update log is long enough to compact, and runs compaction:
 * load the stored snapshot + log, merge them in a worker thread, write the new snapshot
 * and drop exactly the merged entries (DocStore.compact: snapshot first, conditional on
 * the snapshot version that was read, then delete). At most one compaction per document
 * at a time here; with shared storage a cluster-wide lease (with a fencing token the
 * store checks) keeps other nodes out, and the version check makes a compactor whose
 * lease expired harmless: it writes nothing.
 */
import type { DocStore } from '../../persistence/doc-store.ts'
import type { Lease } from '../cluster/kv.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { WorkerPool } from '../workers/pool.ts'

export interface CompactorOptions {
  readonly store: DocStore
  readonly pool: WorkerPool
  readonly threshold: number
  readonly logger: Logger
  readonly metrics: Metrics
  /**
   * Shared storage in cluster mode: a short cluster-wide lease per document, so two nodes
   * never compact the same document at once. Resolves null when another node holds it.
   */
  readonly lease?: ((name: string) => Promise<Lease | null>) | undefined
}

/** `stale`: another compaction wrote first (nothing written, nothing lost); `skipped`: another node holds the lease. */
export type CompactionResult = 'ok' | 'nothing' | 'stale' | 'skipped' | 'error'

export class Compactor {
  /** Known log length per loaded document. */
  private readonly logLength = new Map<string, number>()
  private readonly running = new Map<string, Promise<void>>()
  private closed = false

  constructor(private readonly opts: CompactorOptions) {}

  track(name: string, logLength: number): void {
    this.logLength.set(name, logLength)
    this.maybeCompact(name)
  }

  forget(name: string): void {
    this.logLength.delete(name)
  }

  /** Called after each durable append. */
  appended(names: readonly string[]): void {
    for (const name of names) {
      const length = this.logLength.get(name)
      if (length === undefined) continue
      this.logLength.set(name, length + 1)
      this.maybeCompact(name)
    }
  }

  private maybeCompact(name: string): void {
    if ((this.logLength.get(name) ?? 0) >= this.opts.threshold) this.compactSoon(name)
  }

  /** Compacts whatever the log length (a log that loads only merged), unless a compaction of it runs already. */
  compactSoon(name: string): void {
    if (this.closed || this.running.has(name)) return
    const run = this.compact(name).then((result) => {
      this.running.delete(name)
      // The log may have passed the threshold again while this ran. Anything but success
      // (failed, another node holds the lease or wrote first) waits for the next append
      // instead of retrying in a tight loop.
      if (result === 'ok') this.maybeCompact(name)
    })
    this.running.set(name, run)
  }

  /** Compacts now, whatever the log length; never rejects (a failure is logged and counted). */
  async compact(name: string): Promise<CompactionResult> {
    const { store, pool, metrics, logger } = this.opts
    const lease = this.opts.lease ? await this.opts.lease(name) : undefined
    if (lease === null) {
      metrics.compactions.inc({ result: 'skipped' })
      logger.debug({ doc: name }, 'compaction skipped: another node holds the lease')
      return 'skipped'
    }
    const stop = metrics.compactionTime.startTimer()
    try {
      const stored = await store.load(name)
      if (!stored || stored.updates.length === 0) return 'nothing'
      const out = await pool.compact({ snapshot: stored.snapshot, updates: stored.updates })
      const written = await store.compact(name, out.snapshot, out.stateVector, stored.basis, lease?.token)
      const length = this.logLength.get(name)
      if (!written) {
        // Another compaction wrote first: its snapshot holds what we read. Nothing to undo.
        metrics.compactions.inc({ result: 'stale' })
        logger.info({ doc: name }, 'compaction result discarded: the stored snapshot changed meanwhile')
        return 'stale'
      }
      if (length !== undefined) this.logLength.set(name, Math.max(0, length - stored.updates.length))
      metrics.compactions.inc({ result: 'ok' })
      metrics.compactionBytesSaved.inc(Math.max(0, out.inputBytes - out.snapshot.length))
      logger.info({ doc: name, entries: stored.updates.length, bytesIn: out.inputBytes, bytesOut: out.snapshot.length }, 'compacted document log')
      return 'ok'
    } catch (err) {
      metrics.compactions.inc({ result: 'error' })
      logger.error({ err, doc: name }, 'compaction failed; the log stays as it is and is retried on the next append')
      return 'error'
    } finally {
      stop()
      await lease?.release()
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.running.values())
  }
}
