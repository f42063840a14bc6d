/**
 * Compute for site documents, off the event loop: jobs run in a dedicated worker thread
 * that keeps its own copy of each document, fed only what changed since its last job.
 * Results are cached per document state (LRU, bounded in bytes); concurrent requests for
 * one state share one computation (lru-cache's fetch), however many ask.
 *
 * One worker, not the pool: a copy lives in one thread, and the main thread knows exactly
 * what that thread has. Compaction and merges keep using the pool.
 */
import { LRUCache } from 'lru-cache'
import { Piscina } from 'piscina'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'
import type { ComputeInput, ComputeJob, ComputeOutput } from '../workers/compute.worker.ts'

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

export class ComputeError extends Error {}

interface Cached {
  readonly value: unknown
  readonly ms: number
  readonly bytes: number
}

export class ComputeService {
  private readonly worker: Piscina
  /** What the worker's copy of each document holds (as dispatched; tasks run in order). */
  private readonly sent = new Map<string, number>()
  private readonly cache: LRUCache<string, Cached, { doc: SharedDoc; job: ComputeJob }>

  constructor(private readonly metrics: Metrics) {
    this.worker = new Piscina({
      filename: new URL(`../workers/compute.worker${ext}`, import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      ...(ext === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
    })
    this.cache = new LRUCache({
      max: 500,
      maxSize: 64 * 1024 * 1024,
      sizeCalculation: (c) => Math.max(1, c.bytes),
      fetchMethod: async (_key, _stale, { context }) => this.compute(context.doc, context.job),
    })
  }

  /** The job's result for the document's current state: from the cache, or computed once. */
  async run(doc: SharedDoc, job: ComputeJob): Promise<{ value: unknown; cached: boolean; ms: number }> {
    const key = `${doc.name}#${doc.incarnation}@${doc.version}|${JSON.stringify(job)}`
    const hit = this.cache.has(key)
    const result = await this.cache.fetch(key, { context: { doc, job } })
    if (!result) throw new ComputeError('computation returned nothing')
    this.metrics.computeRequests.inc({ kind: job.kind, cache: hit ? 'hit' : 'miss' })
    return { value: result.value, cached: hit, ms: result.ms }
  }

  private async compute(doc: SharedDoc, job: ComputeJob): Promise<Cached> {
    const stop = this.metrics.computeTime.startTimer({ kind: job.kind })
    const replica = `${doc.name}#${doc.incarnation}`
    try {
      let out = await this.dispatch(doc, replica, this.sent.get(replica) ?? -1, job)
      if ('stale' in out) out = await this.dispatch(doc, replica, -1, job)
      if ('stale' in out) throw new ComputeError('the compute worker lost its copy twice')
      if ('error' in out) throw new ComputeError(out.error)
      const bytes = typeof out.value === 'string' ? out.value.length : out.value instanceof Uint8Array ? out.value.length : JSON.stringify(out.value).length
      return { value: out.value, ms: out.ms, bytes }
    } finally {
      stop()
    }
  }

  private dispatch(doc: SharedDoc, replica: string, afterSeq: number, job: ComputeJob): Promise<ComputeOutput> {
    const { parts, throughSeq } = doc.partsSince(afterSeq)
    this.sent.set(replica, throughSeq)
    const input: ComputeInput = { key: replica, afterSeq, throughSeq, parts, job }
    return this.worker.run(input).catch((err: unknown) => {
      this.sent.delete(replica)
      throw err
    }) as Promise<ComputeOutput>
  }

  /** The document's whole state as one update, encoded by the worker's copy (not cached: it is big and asked for rarely). */
  async encodeState(doc: SharedDoc): Promise<Uint8Array> {
    const out = await this.compute(doc, { kind: 'state' })
    return out.value as Uint8Array
  }

  /** The document was unloaded: its copy in the worker is dropped when it is evicted there. */
  forget(doc: SharedDoc): void {
    this.sent.delete(`${doc.name}#${doc.incarnation}`)
  }

  async close(): Promise<void> {
    this.cache.clear()
    await this.worker.close()
  }
}
