/**
 * Compute for site documents, off the event loop: jobs run in a dedicated worker thread
 * that keeps its own copy of each document, fed only what changed since its last job.
 * Results are cached per document state (LRU, bounded in bytes); concurrent requests for
 * one state share one computation (lru-cache's fetch), however many ask.
 *
 * In cluster mode results are shared through Redis too, keyed by the state's identity (state
 * vector + delete-set digest, computed by the worker): a node first looks there; on a miss
 * it takes a short lease on the key, computes and stores; a node that finds the lease taken
 * waits for the result instead of computing it again (one computation per state in the
 * whole cluster), and computes itself only if none arrives in time.
 *
 * One worker, not the pool: a copy lives in one thread, and the main thread knows exactly
 * what that thread has. Compaction and merges keep using the pool.
 */
import { createHash } from 'node:crypto'
import type { Piscina } from 'piscina'
import { LRUCache } from 'lru-cache'
import type { SharedKv } from '../cluster/kv.ts'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'
import type { ComputeInput, ComputeJob, ComputeOutput } from '../workers/compute.worker.ts'
import { createPool } from '../workers/piscina.ts'
import { AtriumError } from '../../shared/errors.ts'
import { PartsFeeds } from './parts-feed.ts'

/** A computation failed or found nothing (an export's missing floor): answered 404 with its message. */
export class ComputeError extends AtriumError {
  override readonly name = 'ComputeError'
}

/** Too many computations waiting for the worker: answered 503 with Retry-After. */
export class ComputeBusy extends AtriumError {
  override readonly name = 'ComputeBusy'
  constructor(readonly waiting: number) {
    super(`${waiting} computations are waiting for the compute worker`)
  }
}

/** Distinct computations (cache misses) that may wait for the worker at once; more are refused, not queued without bound. */
export const MAX_COMPUTE_QUEUE = 32

interface Cached {
  readonly value: unknown
  readonly ms: number
  readonly bytes: number
  /** Computed here, or found in the cluster's shared cache. */
  readonly source: 'computed' | 'shared'
}

const SHARED_TTL_MS = 10 * 60_000
const SHARED_MAX_BYTES = 8 * 1024 * 1024
const SHARED_LEASE_MS = 30_000
/** How long a node waits for another's result before computing itself (the other may store it under a newer state). */
const SHARED_WAIT_MS = 10_000

export interface ComputeOptions {
  /** The cluster's shared cache and leases (Redis), when there is a cluster. */
  readonly shared: SharedKv | null
  /** Merges a document's parts off the event loop (the worker pool). */
  readonly merge: (parts: readonly Uint8Array[]) => Promise<Uint8Array>
  readonly mergeFailed: (doc: SharedDoc, err: unknown) => void
}

export class ComputeService {
  private readonly worker: Piscina
  /** What the worker's copy of each document holds (as dispatched; tasks run in order). */
  private readonly sent = new Map<string, number>()
  private readonly cache: LRUCache<string, Cached, { doc: SharedDoc; job: ComputeJob }>
  /** Computations dispatched and not finished. */
  private active = 0
  /** What the worker's copies are built from (server/compute/parts-feed.ts). */
  private readonly feeds: PartsFeeds
  private readonly shared: SharedKv | null

  constructor(
    private readonly metrics: Metrics,
    opts: ComputeOptions,
  ) {
    this.shared = opts.shared
    this.feeds = new PartsFeeds(opts.merge, opts.mergeFailed)
    // Started by the first job, not at start-up (most servers never compute; a thread and its
    // warm-up cost memory and CPU), and then kept: it holds the documents' copies.
    this.worker = createPool({ task: 'compute', maxThreads: 1, idleTimeout: Number.POSITIVE_INFINITY })
    this.cache = new LRUCache({
      max: 500,
      maxSize: 64 * 1024 * 1024,
      sizeCalculation: (c) => Math.max(1, c.bytes),
      fetchMethod: async (_key, _stale, { context }) => this.fetch(context.doc, context.job),
    })
  }

  /** The job's result for the document's current state: from a cache, or computed once. */
  async run(doc: SharedDoc, job: ComputeJob): Promise<{ value: unknown; cached: boolean; source: 'local' | 'shared' | 'computed'; ms: number }> {
    const key = `${doc.name}#${doc.incarnation}@${doc.version}|${JSON.stringify(job)}`
    const hit = this.cache.has(key)
    const result = await this.cache.fetch(key, { context: { doc, job } })
    if (!result) throw new ComputeError('computation returned nothing')
    const source = hit ? 'local' : result.source
    this.metrics.computeRequests.inc({ kind: job.kind, cache: source })
    return { value: result.value, cached: source !== 'computed', source, ms: result.ms }
  }

  /** A local cache miss: the cluster's shared cache, else compute (once per state across the cluster). */
  private async fetch(doc: SharedDoc, job: ComputeJob): Promise<Cached> {
    const shared = this.shared?.isUp ? this.shared : null
    // Single objects are cheap next to a Redis round trip, and a document's JSON is the document
    // itself (megabytes through Redis, parsed back here): shared only for analytics and exports.
    if (!shared || job.kind === 'object' || job.kind === 'json') return this.compute(doc, job)
    const keyOf = (state: string) =>
      `compute:${createHash('sha256')
        .update(`${doc.name}\n${JSON.stringify(job)}\n${state}`)
        .digest('base64url')}`
    const key = keyOf((await this.compute(doc, { kind: 'key' })).value as string)
    const found = await this.fromShared(shared, key)
    if (found) return found
    const lease = await shared.lease(key, SHARED_LEASE_MS)
    if (!lease) {
      // Someone else is computing this state: wait for their result.
      const deadline = Date.now() + SHARED_WAIT_MS
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50))
        const waited = await this.fromShared(shared, key)
        if (waited) return waited
      }
    }
    try {
      // Between our miss and our lease, the previous holder may have stored it and let go.
      const stored = lease ? await this.fromShared(shared, key) : null
      if (stored) return stored
      const result = await this.compute(doc, job, true)
      // Stored under the state it was computed on, which edits since the key was taken may have moved on.
      const text = JSON.stringify({ value: result.value, ms: result.ms })
      if (result.key && text.length <= SHARED_MAX_BYTES) await shared.set(keyOf(result.key), text, SHARED_TTL_MS)
      return result
    } finally {
      await lease?.release()
    }
  }

  private async fromShared(shared: SharedKv, key: string): Promise<Cached | null> {
    const text = await shared.get(key)
    if (!text) return null
    const { value, ms } = JSON.parse(text) as { value: unknown; ms: number }
    return { value, ms, bytes: text.length, source: 'shared' }
  }

  private async compute(doc: SharedDoc, job: ComputeJob, withKey = false): Promise<Cached & { key?: string }> {
    // Checked here, once per computation: a request for a state being computed joins it (the cache's fetch) and is never refused.
    if (this.active >= MAX_COMPUTE_QUEUE) throw new ComputeBusy(this.active)
    const stop = this.metrics.computeTime.startTimer({ kind: job.kind })
    const replica = `${doc.name}#${doc.incarnation}`
    this.active++
    try {
      let out = await this.dispatch(doc, replica, this.sent.get(replica) ?? -1, job, withKey)
      if ('stale' in out) out = await this.dispatch(doc, replica, -1, job, withKey)
      if ('stale' in out) throw new ComputeError('the compute worker lost its copy twice')
      if ('error' in out) throw new ComputeError(out.error)
      const bytes = sizeOf(out.value)
      return { value: out.value, ms: out.ms, bytes, source: 'computed', key: out.key }
    } finally {
      this.active--
      stop()
    }
  }

  private dispatch(doc: SharedDoc, replica: string, afterSeq: number, job: ComputeJob, withKey: boolean): Promise<ComputeOutput> {
    const { parts, throughSeq } = this.feeds.since(doc, afterSeq)
    this.sent.set(replica, throughSeq)
    const input: ComputeInput = { key: replica, afterSeq, throughSeq, parts, job, withKey }
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

  /** Feeds the worker this document from now on (before its load: the loaded slices become its first parts). */
  feed(doc: SharedDoc): void {
    this.feeds.start(doc)
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

/** Bytes a result holds (for the cache's bound), without serializing a large one on the event loop. */
function sizeOf(value: unknown): number {
  if (typeof value === 'string' || value instanceof Uint8Array) return value.length
  // A document's JSON: the text kept (a refusal of one too large keeps none).
  if (value !== null && typeof value === 'object' && 'json' in value) return (value as { json: string | null }).json?.length ?? 64
  return JSON.stringify(value).length
}
