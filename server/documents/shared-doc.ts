/**
 * One loaded document: its Y.Doc, awareness relay, the sessions that joined it, and the
 * per-tick fan-out. It deals in sessions and y-protocol messages, never sockets or framings
 * (server/documents/session.ts), so the y-websocket and (later) Hocuspocus framings share it.
 * A session's rights are checked here, where its messages would take effect.
 */
import * as Y from 'yjs'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../shared/protocol/messages.ts'
import type { Refusal } from '../admission/admission.ts'
import { AwarenessRelay, type AwarenessLimits, type Dropped } from './awareness-relay.ts'
import { AwarenessTiers, awarenessTopic } from './awareness-tiers.ts'
import { coalesce, mergeFrom } from './coalesce.ts'
import { DocWriter, type WriterOptions } from './doc-writer.ts'
import type { Session } from './session.ts'
import { lacksMost, StepOnePacer } from './step1-pacer.ts'
import { WarmState } from './warm-state.ts'

/** Transaction origins: every change is tagged, so nothing is echoed or persisted twice. A client's change has its Session as origin. */
export const Origin = { storage: Symbol('storage'), local: Symbol('local'), remote: Symbol('remote') } as const

export interface Publisher {
  /** Sends `message` to every session subscribed to `topic`, except the session `except` when given. */
  publish(topic: string, message: Uint8Array, except?: Session): void
  /** The same, to Hocuspocus sessions only (messages y-websocket has no type for: stateless). */
  publishHocuspocus?(topic: string, message: Uint8Array, except?: Session): void
}

/** Cluster mode: where this node's own changes go, once per tick (never what came from it). */
export interface ClusterOutbox {
  publishUpdate(doc: SharedDoc, update: Uint8Array): void
  publishAwareness(doc: SharedDoc, update: Uint8Array): void
  /** A stateless message (Hocuspocus type 5 and its payload) for the document's sessions on other nodes. */
  publishStateless?(doc: SharedDoc, message: Uint8Array): void
}

export interface SharedDocHooks {
  readonly publisher: Publisher
  /** MAX_DOCUMENT_BYTES: a client update that would take the document past it is refused, nothing applied. */
  readonly maxBytes?: number | undefined
  /** The embedding's onChange (after the change is batched for fan-out). */
  readonly onChange?: ((name: string, update: Uint8Array, origin: 'client' | 'remote') => void) | undefined
  /** Called with each accepted change (Yjs-encoded, never the raw client bytes). */
  readonly persist: (name: string, update: Uint8Array) => void
  /** Largest fan-out batch before it is sent without waiting for the end of the tick. */
  readonly batchBytes: number
  readonly cluster?: ClusterOutbox | undefined
  /**
   * Persist changes that came from other nodes too: true with a node-local store (each
   * node's copy must be complete), false with shared storage, where the node a change
   * arrived on stores it and nobody else does.
   */
  readonly persistRemote?: boolean | undefined
  /** How client and remote updates are admitted and applied (server/documents/doc-writer.ts). */
  readonly writer: WriterOptions
  readonly awareness?: { readonly limits: AwarenessLimits; readonly dropped: (why: Dropped) => void } | undefined
  /**
   * Large sync answers: above `chunkBytes`, cut into chunks off the event loop and sent paced.
   * With `rebase`, a document larger than a chunk keeps its full state ready (warm-state.ts),
   * so a joiner with nothing never waits for an encode on the event loop.
   */
  readonly firstSync?:
    | {
        readonly chunkBytes: number
        readonly chunk: (update: Uint8Array) => Promise<Uint8Array[]>
        readonly rebase?: (updates: Uint8Array[]) => Promise<Uint8Array[]>
        readonly rebaseFailed?: (name: string, err: unknown) => void
      }
    | undefined
}

let incarnations = 0
/** The framed message of each warm part, as an update and as a sync step 2: shared by joiners while the part lives. */
const asUpdate = new WeakMap<Uint8Array, Uint8Array>()
const asStep2 = new WeakMap<Uint8Array, Uint8Array>()
function framedOnce(cache: WeakMap<Uint8Array, Uint8Array>, payload: Uint8Array, frame: (p: Uint8Array) => Uint8Array): Uint8Array {
  let framed = cache.get(payload)
  if (!framed) cache.set(payload, (framed = frame(payload)))
  return framed
}
const EMPTY_STATE_VECTOR = Uint8Array.of(0)

export class SharedDoc {
  readonly doc = new Y.Doc({ gc: true })
  readonly awareness: AwarenessRelay
  /** Awareness for the sessions that asked for a lower rate. */
  private readonly tiers: AwarenessTiers
  readonly sessions = new Set<Session>()
  readonly topic: string
  /** The one way client and remote updates reach `doc`. */
  readonly writer: DocWriter

  /** Bumped on every change: a cheap cache key for what is derived from the state (compute results, anti-entropy digests). */
  version = 0
  /**
   * Bytes of every update applied since the load began, stored ones included: an upper bound of
   * the encoded state (merging and compaction only shrink it), used for MAX_DOCUMENT_BYTES. A
   * load of a compacted document starts it at the snapshot's size.
   */
  sizeBytes = 0
  private batch: Uint8Array[] = []
  /** This node's own changes of the tick, for the cluster bus. */
  private outbound: Uint8Array[] = []
  private batchBytes = 0
  /** The only session whose updates are in the batch (it has them already), or null when mixed / from elsewhere. */
  private batchSender: Session | null | undefined = undefined
  private tickScheduled = false
  /** Encoded answers shared by every joiner until the document changes. */
  private fullState: Uint8Array | null = null
  /** The full state in chunks (a large document), shared by joiners until the document changes. */
  private fullChunks: Promise<Uint8Array[]> | null = null
  private stateVector: Uint8Array | null = null
  /** The document's clocks, for deciding whether a step 1 lacks most of it (step1-pacer.ts). */
  private clocks: Map<number, number> | null = null
  /** Each session's sync step 1 answers, paced by what they cost. */
  private readonly step1 = new StepOnePacer((session, sv) => this.answerNow(session, sv))
  /** The full state kept ready for joiners with nothing, once the document is larger than a chunk. */
  private readonly warm: WarmState | null
  private destroyed = false
  /** Distinguishes this load of the document from an earlier one (caches key on it and `version`). */
  readonly incarnation = ++incarnations

  constructor(
    readonly name: string,
    private readonly hooks: SharedDocHooks,
  ) {
    this.topic = name
    this.writer = new DocWriter(this.doc, Origin.remote, hooks.writer)
    this.awareness = new AwarenessRelay(hooks.cluster !== undefined, hooks.awareness?.limits, hooks.awareness?.dropped)
    this.tiers = new AwarenessTiers(name, (topic, message) => this.hooks.publisher.publish(topic, message))
    const sync = hooks.firstSync
    this.warm = sync?.rebase ? new WarmState({ chunkBytes: sync.chunkBytes, rebase: sync.rebase, failed: (err) => sync.rebaseFailed?.(name, err) }) : null
    this.doc.on('update', this.onUpdate)
  }

  /** Applies (a slice of) stored state without persisting or publishing it (documents/loader.ts admits it first). */
  loadSlice(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, Origin.storage)
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    this.sizeBytes += update.length
    this.fullState = null
    this.fullChunks = null
    this.stateVector = null
    this.clocks = null
    this.version++
    this.warm?.add(update)
    if (origin === Origin.storage) return
    const remote = origin === Origin.remote
    if (!remote || this.hooks.persistRemote !== false) this.hooks.persist(this.name, update)
    if (!remote && this.hooks.cluster) this.outbound.push(update)
    const sender = this.sessions.has(origin as Session) ? (origin as Session) : null
    this.batchSender = this.batchSender === undefined ? sender : this.batchSender === sender ? sender : null
    this.batch.push(update)
    this.batchBytes += update.length
    if (this.batchBytes >= this.hooks.batchBytes) this.flush()
    else this.scheduleTick()
    this.hooks.onChange?.(this.name, update, remote ? 'remote' : 'client')
  }

  /**
   * A client's update, admitted then applied (now, or in slices over the next turns): a
   * refusal decided now, or null; a later refusal goes to `from.refuse`. Call only when
   * `writer.mustWait(from)` is false (else defer the message through the writer).
   * A read-only session's updates are ignored, as Hocuspocus ignores a read-only connection's.
   */
  receiveUpdate(update: Uint8Array, from: Session): Refusal | null {
    if (!from.rights.write) return null
    const max = this.hooks.maxBytes
    if (max !== undefined && this.sizeBytes + update.length > max)
      return { kind: 'limit', limit: 'document', detail: `the document would grow past ${max} bytes (MAX_DOCUMENT_BYTES; it holds about ${this.sizeBytes})` }
    return this.writer.fromClient(update, from)
  }

  /** Applies what another node accepted (or an anti-entropy repair): fanned out, never re-published. */
  applyRemoteUpdate(update: Uint8Array): void {
    this.writer.fromRemote(update)
  }

  /** A client's awareness update; ignored from a session without the awareness right. */
  applyAwareness(update: Uint8Array, from: Session): void {
    if (!from.rights.awareness) return
    this.awareness.apply(update, from.awarenessIds, true, Date.now(), from.admitAwareness)
    if (this.awareness.hasChanges) this.scheduleTick()
  }

  /** Awareness of another node's clients; `owned` tracks them per node, for when it is gone. */
  applyRemoteAwareness(update: Uint8Array, owned: Set<number>): void {
    this.awareness.apply(update, owned, false)
    if (this.awareness.hasChanges) this.scheduleTick()
  }

  /** Removes awareness states nobody renewed within the timeout. */
  expireAwareness(now = Date.now()): void {
    if (this.awareness.expire(now) > 0) this.scheduleTick()
  }

  /** Removes awareness states of another node's clients (that node is gone). */
  removeRemoteAwareness(owned: Iterable<number>): void {
    this.awareness.remove(owned, false)
    if (this.awareness.hasChanges) this.scheduleTick()
  }

  /** Live awareness states of this node's own clients (for a peer node that missed them). */
  encodeLocalAwareness(): Uint8Array | null {
    const ids = new Set<number>()
    for (const session of this.sessions) for (const id of session.awarenessIds) ids.add(id)
    return this.awareness.encodeSome(ids)
  }

  /**
   * The messages a joining session gets: our state vector (so it sends what we lack) and
   * awareness. A Hocuspocus session gets the state vector with the answer to its own sync
   * step 1 instead, as Hocuspocus sends it (`sendStateVector`).
   */
  greet(session: Session): void {
    if (!session.link.hocuspocus) this.sendStateVector(session)
    const states = this.awareness.encodeAll()
    if (states) session.send(encodeAwareness(states))
  }

  /** Our sync step 1: the session answers with what we lack (its sync step 2). */
  sendStateVector(session: Session): void {
    session.send((this.stateVector ??= encodeSyncStep1(Y.encodeStateVector(this.doc))))
  }

  /**
   * A stateless message (shared/protocol/hocuspocus.ts) to the document's Hocuspocus sessions
   * here, except `from` (its sender), and on other nodes. y-websocket clients have no such message.
   */
  relayStateless(message: Uint8Array, from?: Session): void {
    this.hooks.publisher.publishHocuspocus?.(this.topic, message, from)
    this.hooks.cluster?.publishStateless?.(this, message)
  }

  /** A stateless message another node's client sent: to the sessions here only. */
  applyRemoteStateless(message: Uint8Array): void {
    this.hooks.publisher.publishHocuspocus?.(this.topic, message)
  }

  /**
   * Answers a sync step 1: everything the session lacks. Joiners with nothing share one encoding.
   * An answer larger than `firstSync.chunkBytes` goes as chunks (in Yjs's order, cut by the
   * worker pool) sent as updates paced by the session's socket, the last one as the sync step 2:
   * a document larger than one socket's outbound buffer can be joined while it is edited.
   */
  answerSyncStep1(session: Session, stateVector: Uint8Array): void {
    // Throws on a garbled vector before anything is queued (dispatch.ts closes the session).
    const asked = Y.decodeStateVector(stateVector)
    this.step1.offer(session, this.lacksMost(asked) ? EMPTY_STATE_VECTOR : stateVector)
  }

  /** A vector that lacks most of the document is answered with the shared full state (step1-pacer.ts). */
  private lacksMost(asked: Map<number, number>): boolean {
    if (asked.size === 0) return true
    return lacksMost((this.clocks ??= Y.decodeStateVector(Y.encodeStateVector(this.doc))), asked)
  }

  private answerNow(session: Session, stateVector: Uint8Array, warm = true): void {
    const full = stateVector.length <= 1
    const chunking = this.hooks.firstSync
    if (full && warm && this.warm?.usable && chunking && this.sizeBytes > chunking.chunkBytes) return this.sendWarm(session, this.warm)
    if (full && this.fullState) return session.send(this.fullState)
    if (full && this.fullChunks) return this.sendChunks(session, this.fullChunks, null)
    const update = Y.encodeStateAsUpdate(this.doc, full ? undefined : stateVector)
    if (!chunking || update.length <= chunking.chunkBytes) {
      const answer = encodeSyncStep2(update)
      if (full) this.fullState = answer
      return session.send(answer)
    }
    const chunks = chunking.chunk(update)
    if (full) this.fullChunks = chunks
    this.sendChunks(session, chunks, update)
  }

  /** The warm full state as updates, the last as the sync step 2; if it cannot be had, an encode as before. */
  private sendWarm(session: Session, warm: WarmState): void {
    warm.answer().then((payloads) => {
      if (session.closed || this.destroyed) return
      // Not to be had warm: encoded as before, through the caches joiners share.
      if (!payloads || payloads.length === 0) return this.answerNow(session, EMPTY_STATE_VECTOR, false)
      const last = payloads.length - 1
      // Framed once per part and shared by every joiner (a join storm queues one copy, not one per joiner).
      session.sendSequence(payloads.map((p, k) => framedOnce(k === last ? asStep2 : asUpdate, p, k === last ? encodeSyncStep2 : encodeUpdate)))
    })
  }

  /** Chunks as updates, the last as the sync step 2; if chunking failed, the whole answer as one frame. */
  private sendChunks(session: Session, chunks: Promise<Uint8Array[]>, update: Uint8Array | null): void {
    chunks.then(
      (list) => session.sendSequence(list.map((c, k) => (k === list.length - 1 ? encodeSyncStep2(c) : encodeUpdate(c)))),
      // One frame after all (the socket's limit may close it; the client then retries).
      () => session.send(encodeSyncStep2(update ?? Y.encodeStateAsUpdate(this.doc))),
    )
  }

  answerQueryAwareness(session: Session): void {
    const states = this.awareness.encodeAll()
    if (states) session.send(encodeAwareness(states))
  }

  /** The session gets this document's fan-out from now on (greet it next). */
  join(session: Session): void {
    this.sessions.add(session)
    session.doc = this
    session.subscribe(this.topic)
    session.subscribeAwareness(awarenessTopic(this.name, session.awarenessTier))
    if (session.awarenessTier !== null) this.tiers.join(session.awarenessTier)
  }

  /** Removes a session and announces its awareness states as gone. */
  leave(session: Session): void {
    if (!this.sessions.delete(session)) return
    session.doc = null
    this.step1.forget(session)
    session.unsubscribe()
    if (session.awarenessTier !== null) this.tiers.leave(session.awarenessTier)
    this.writer.forget(session)
    if (session.awarenessIds.size > 0) {
      this.awareness.remove(session.awarenessIds, true)
      session.awarenessIds.clear()
      this.scheduleTick()
    }
    if (this.batchSender === session) this.batchSender = null
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return
    this.tickScheduled = true
    setImmediate(this.onTick)
  }

  private readonly onTick = (): void => {
    this.tickScheduled = false
    this.flush()
  }

  /** Publishes the batched updates (merged into one message) and coalesced awareness. */
  flush(): void {
    if (this.destroyed) return
    const { publisher } = this.hooks
    if (this.batch.length > 0) {
      const sender = this.batchSender ?? undefined
      // Merged only when that saves more sends than the merge costs (coalesce.ts): with few readers, as they came.
      const updates = coalesce(this.batch, mergeFrom(this.sessions.size - (sender ? 1 : 0)))
      this.batch = []
      this.batchBytes = 0
      this.batchSender = undefined
      for (const update of updates) publisher.publish(this.topic, encodeUpdate(update), sender)
    }
    const cluster = this.hooks.cluster
    if (cluster && this.outbound.length > 0) {
      const own = coalesce(this.outbound)
      this.outbound = []
      for (const update of own) cluster.publishUpdate(this, update)
    }
    const ownAwareness = cluster ? this.awareness.takeLocalChanges() : null
    if (cluster && ownAwareness) cluster.publishAwareness(this, ownAwareness)
    const awareness = this.awareness.takeChangedEntries()
    // Awareness goes to everyone, the sender included: y-websocket clients treat any
    // message as a keep-alive, and their 15 s awareness renewal is often the only one.
    // Full-rate sessions get every tick; the slower tiers coalesce further (awareness-tiers.ts).
    if (awareness) {
      publisher.publish(awarenessTopic(this.name, null), encodeAwareness(awareness.update))
      this.tiers.changed(awareness.entries)
    }
  }

  destroy(): void {
    this.flush()
    this.destroyed = true
    this.warm?.destroy()
    this.tiers.destroy()
    this.writer.destroy()
    this.doc.off('update', this.onUpdate)
    this.doc.destroy()
  }
}
