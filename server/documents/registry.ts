/**
 * Document lifecycle: load once (concurrent joiners share one load), never serve before the
 * load finished, unload a grace period after the last session left (after everything is
 * durable), and never keep or persist a document whose load failed.
 */
import type * as Y from 'yjs'
import { storedEntries, type DocStore } from '../../persistence/doc-store.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { Compactor } from './compactor.ts'
import type { GroupCommit } from './group-commit.ts'
import type { CheckFactory, CheckFailure } from '../admission/admission.ts'
import type { WriterOptions } from './doc-writer.ts'
import { applyStored } from './loader.ts'
import { SchemaViolation, SiteGuard } from './schema-guard.ts'
import type { Session } from './session.ts'
import { SharedDoc, type ClusterOutbox, type Publisher, type SharedDocHooks } from './shared-doc.ts'
import { AtriumError } from '../../shared/errors.ts'

/**
 * Cluster mode: told when a document is loaded and unloaded (to (un)subscribe its channel).
 * The dependency goes this way only: the cluster knows the loaded documents from these
 * calls and never asks the registry.
 */
export interface ClusterMembership extends ClusterOutbox {
  loaded(doc: SharedDoc): void
  unloaded(doc: SharedDoc): void
  /** False with shared storage: only the node a change arrived on persists it. */
  readonly persistRemote: boolean
}

export interface RegistryOptions {
  readonly store: DocStore
  readonly groupCommit: GroupCommit
  readonly compactor: Compactor
  readonly publisher: Publisher
  readonly unloadGraceMs: number
  readonly batchBytes: number
  /** MAX_DOCUMENT_BYTES (none when undefined). */
  readonly maxDocumentBytes?: number
  /** Embedding hooks (server/atrium.ts AtriumHooks). */
  readonly onChange?: ((name: string, update: Uint8Array, origin: 'client' | 'remote') => void) | undefined
  readonly onLoad?: ((name: string, doc: Y.Doc) => void) | undefined
  readonly logger: Logger
  readonly metrics: Metrics
  readonly cluster?: ClusterMembership | undefined
  /** Documents whose client updates are checked against the site schema (shared/schema). */
  readonly schemaDocs?: RegExp | undefined
  /** How updates are admitted and applied (the site check is added for site documents). */
  readonly writer: Omit<WriterOptions, 'check' | 'checkFailure'>
  /** Awareness bounds and the drop counter (shared/DESIGN: every byte a client sends is hostile). */
  readonly awareness?: SharedDocHooks['awareness']
  /** How large sync answers are chunked and paced. */
  readonly firstSync?: SharedDocHooks['firstSync']
  /** Merges stored updates into one, off the event loop (the worker pool), for a document that only loads merged. */
  readonly merge: (updates: readonly Uint8Array[]) => Promise<Uint8Array>
  /** Told of each document made, before it loads (compute starts feeding a site document here). */
  readonly created?: ((doc: SharedDoc) => void) | undefined
  readonly onUnload?: ((doc: SharedDoc) => void) | undefined
}

/** Why a document could not be served; carries the underlying cause. */
export class DocumentLoadError extends AtriumError {
  // Typed `string`, not the literal, so that DocumentQuarantined can name itself.
  override readonly name: string = 'DocumentLoadError'
  constructor(
    readonly docName: string,
    cause: unknown,
  ) {
    super(`document ${JSON.stringify(docName)} could not be loaded: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}

/** The stored document would stall the node when loaded (even merged): not served until an operator repairs it. */
export class DocumentQuarantined extends DocumentLoadError {
  override readonly name = 'DocumentQuarantined'
  constructor(
    docName: string,
    readonly reason: string,
  ) {
    super(docName, new Error(`quarantined: ${reason}`))
  }
}

/** How often awareness states are checked for their 30 s timeout. */
const AWARENESS_SWEEP_MS = 5000

/** A quarantined document is checked again at most this often (clients retry it). */
export const QUARANTINE_RECHECK_MS = 30_000

export class DocumentRegistry {
  private readonly docs = new Map<string, SharedDoc>()
  private readonly loading = new Map<string, Promise<SharedDoc>>()
  private readonly unloadTimers = new Map<string, NodeJS.Timeout>()
  /** Documents found poisoned, with why and until when that verdict stands. */
  private readonly quarantined = new Map<string, { reason: string; until: number }>()
  private closed = false
  /** Times out awareness states nobody renewed, in every loaded document. */
  private readonly sweep: NodeJS.Timeout

  constructor(private readonly opts: RegistryOptions) {
    this.sweep = setInterval(() => {
      for (const doc of this.docs.values()) doc.expireAwareness()
    }, AWARENESS_SWEEP_MS)
    this.sweep.unref()
  }

  get size(): number {
    return this.docs.size
  }

  /** Every loaded document. */
  loaded(): IterableIterator<SharedDoc> {
    return this.docs.values()
  }

  /** A loaded document, without loading it. */
  peek(name: string): SharedDoc | undefined {
    return this.docs.get(name)
  }

  /** The loaded document; loads it once however many callers ask at the same moment. */
  async acquire(name: string): Promise<SharedDoc> {
    if (this.closed) throw new DocumentLoadError(name, new Error('server is shutting down'))
    // A document waiting to be unloaded is still here, with all its state: it is simply reused.
    const loaded = this.docs.get(name)
    if (loaded) return loaded
    let pending = this.loading.get(name)
    if (!pending) {
      pending = this.load(name).finally(() => this.loading.delete(name))
      this.loading.set(name, pending)
    }
    return pending
  }

  private create(name: string): SharedDoc {
    const site = this.opts.schemaDocs?.test(name) === true
    const doc = new SharedDoc(name, {
      publisher: this.opts.publisher,
      persist: (n, update) => this.opts.groupCommit.enqueue(n, update),
      batchBytes: this.opts.batchBytes,
      maxBytes: this.opts.maxDocumentBytes,
      onChange: this.opts.onChange,
      cluster: this.opts.cluster,
      persistRemote: this.opts.cluster?.persistRemote,
      writer: site ? { ...this.opts.writer, check: siteCheck, checkFailure: siteCheckFailure } : this.opts.writer,
      awareness: this.opts.awareness,
      firstSync: this.opts.firstSync,
    })
    this.opts.created?.(doc)
    return doc
  }

  private async load(name: string): Promise<SharedDoc> {
    const { store, metrics, logger, compactor } = this.opts
    const verdict = this.quarantined.get(name)
    if (verdict && verdict.until > Date.now()) throw new DocumentQuarantined(name, verdict.reason)
    metrics.storageLoads.inc()
    let doc = this.create(name)
    const loading = { turns: this.opts.writer.turns, sliceWork: this.opts.writer.sliceWork }
    try {
      const stored = await store.load(name)
      const logLength = stored?.updates.length ?? 0
      if (stored) {
        const entries = storedEntries(stored)
        const stall = await applyStored(doc, entries, loading)
        if (stall) {
          // In the order stored it would stall; merged, Yjs integrates in its own order, which undoes most such cases.
          doc.destroy()
          doc = this.create(name)
          const still = await applyStored(doc, [await this.opts.merge(entries)], loading)
          if (still) {
            this.quarantined.set(name, { reason: still, until: Date.now() + QUARANTINE_RECHECK_MS })
            metrics.documentsQuarantined.inc()
            logger.error({ doc: name, reason: still }, 'document quarantined: loading it would stall the server; repair it with npm run docs -- repair')
            throw new DocumentQuarantined(name, still)
          }
          logger.warn({ doc: name, stall }, 'document loads only with its log merged; compacting it')
          // So the next load does not need the merge.
          compactor.compactSoon(name)
        }
        this.quarantined.delete(name)
      }
      if (this.closed) throw new Error('server is shutting down')
      this.docs.set(name, doc)
      metrics.documentsLoaded.set(this.docs.size)
      this.opts.onLoad?.(name, doc.doc)
      compactor.track(name, logLength)
      this.opts.cluster?.loaded(doc)
      // Nobody may attach (every joiner left while loading): unload after the grace period then.
      this.scheduleUnload(doc)
      return doc
    } catch (err) {
      doc.destroy()
      if (err instanceof DocumentQuarantined) throw err
      metrics.storageLoadFailures.inc()
      logger.error({ err, doc: name }, 'document load failed; not serving it')
      throw new DocumentLoadError(name, err)
    }
  }

  /** The session joins the loaded document (an unload waiting for the grace period is called off). */
  attach(doc: SharedDoc, session: Session): void {
    const timer = this.unloadTimers.get(doc.name)
    if (timer) {
      clearTimeout(timer)
      this.unloadTimers.delete(doc.name)
    }
    doc.join(session)
  }

  detach(doc: SharedDoc, session: Session): void {
    doc.leave(session)
    if (doc.sessions.size === 0) this.scheduleUnload(doc)
  }

  private scheduleUnload(doc: SharedDoc): void {
    if (this.closed || this.unloadTimers.has(doc.name) || doc.sessions.size > 0) return
    const timer = setTimeout(() => {
      this.unloadTimers.delete(doc.name)
      if (doc.sessions.size > 0 || this.docs.get(doc.name) !== doc) return
      void this.unload(doc)
    }, this.opts.unloadGraceMs)
    timer.unref()
    this.unloadTimers.set(doc.name, timer)
  }

  /**
   * The document stays registered (and servable) until every update of it is durable (and,
   * with MongoDB, shipped there); if a session joins meanwhile, the unload is abandoned. While
   * a store fails this waits, and the document stays in memory with its clients' edits.
   */
  private async unload(doc: SharedDoc): Promise<void> {
    doc.flush()
    const { groupCommit, store } = this.opts
    // Durable here, and (tiered storage) in the shared store, so the next node to load it
    // sees everything. Edits made while waiting (a session came and went) go round again.
    do {
      await doc.writer.idle()
      while (groupCommit.hasPending(doc.name)) await groupCommit.flushed()
      await store.settled?.(doc.name)
    } while (groupCommit.hasPending(doc.name) && !this.closed)
    if (doc.sessions.size > 0 || this.docs.get(doc.name) !== doc || this.closed) return
    this.docs.delete(doc.name)
    this.opts.metrics.documentsLoaded.set(this.docs.size)
    this.opts.compactor.forget(doc.name)
    this.opts.cluster?.unloaded(doc)
    this.opts.onUnload?.(doc)
    doc.destroy()
    this.opts.logger.debug({ doc: doc.name }, 'document unloaded')
  }

  /**
   * Unloads every document nobody is connected to now, instead of after its grace period (the
   * node is short of memory: memory-guard.ts); each still only once all of it is durable.
   * Returns how many.
   */
  unloadIdle(): number {
    let count = 0
    for (const [name, timer] of this.unloadTimers) {
      const doc = this.docs.get(name)
      clearTimeout(timer)
      this.unloadTimers.delete(name)
      if (!doc || doc.sessions.size > 0) continue
      count++
      void this.unload(doc)
    }
    return count
  }

  /** Stops timers and releases every document (the caller flushes the group commit). Idempotent. */
  close(): void {
    this.closed = true
    clearInterval(this.sweep)
    for (const timer of this.unloadTimers.values()) clearTimeout(timer)
    this.unloadTimers.clear()
    for (const doc of this.docs.values()) doc.flush()
  }

  destroyAll(): void {
    for (const doc of this.docs.values()) doc.destroy()
    this.docs.clear()
    this.opts.metrics.documentsLoaded.set(0)
  }
}

const siteCheck: CheckFactory = (doc, model, deletes) => new SiteGuard(doc, model, deletes)
const siteCheckFailure: CheckFailure = (err) => (err instanceof SchemaViolation ? { kind: 'schema', detail: err.message } : null)
