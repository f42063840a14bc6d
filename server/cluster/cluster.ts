/**
 * Cluster mode: any node serves any document, and what one node accepts reaches every node
 * that has the document loaded.
 *
 *   channels   <prefix>doc:<name>   updates, awareness, anti-entropy requests of a document
 *              <prefix>node:<id>    repairs and replies meant for one node
 *              <prefix>cluster      heartbeats
 *
 * Each node publishes its own clients' changes once per tick (merged) and applies what
 * others publish; nothing from the bus is ever published again, and a node ignores its own
 * messages. Redis pub/sub is at-most-once, so convergence never depends on it: a node
 * announces a document's state vector and delete-set digest when it loads the document,
 * whenever the bus comes back, and every ANTI_ENTROPY_INTERVAL_MS; a node that holds more
 * sends the difference to that node only, and a node that holds less asks back. Equal
 * states cost one small message and two cached comparisons.
 *
 * With shared storage (the store says `shared`), only the node a change arrived on persists
 * it. Its heartbeat says up to which of its updates everything is durable; the others keep
 * the rest, and if the origin goes silent before saying so, they persist it themselves.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { crc32 } from 'node:zlib'
import * as Y from 'yjs'
import type { DurableWatermark } from '../documents/durability.ts'
import type { ClusterMembership, DocumentRegistry } from '../documents/registry.ts'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { BusKind, decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from './envelope.ts'
import { RedisKv, type KvConnection, type SharedKv } from './kv.ts'

/** The bytes-moving side (server/cluster/bus.ts); its connection also carries the shared key-value commands. */
export interface BusTransport extends KvConnection {
  subscribe(...channels: string[]): Promise<void>
  unsubscribe(...channels: string[]): Promise<void>
  /** Returns false when the message was dropped (bus down). */
  publish(channel: string, message: Uint8Array): boolean
  close(): Promise<void>
}

export interface BusHandlers {
  onMessage(channel: string, message: Uint8Array): void
  onReady(): void
  onDown(): void
}

export interface ClusterOptions {
  readonly nodeId?: string | undefined
  readonly prefix: string
  readonly connect: (handlers: BusHandlers) => BusTransport
  readonly registry: () => DocumentRegistry
  /** What storage made durable (read only: durability flows from storage to the cluster). */
  readonly durability: DurableWatermark
  /** Hands an update to storage: what this node stores although it did not accept it (shared storage: repairs, rescues). */
  readonly persist: (name: string, update: Uint8Array) => void
  /** False with shared storage. */
  readonly persistRemote: boolean
  readonly antiEntropyIntervalMs: number
  readonly heartbeatMs: number
  /** A node not heard from for this long is gone: its clients' awareness is removed. */
  readonly nodeTimeoutMs: number
  readonly logger: Logger
  readonly metrics: Metrics
}

interface Unconfirmed {
  readonly seq: number
  readonly doc: string
  readonly update: Uint8Array
}

/** Most unconfirmed updates kept per origin node (shared storage only). */
const MAX_UNCONFIRMED = 50_000

const now = () => performance.timeOrigin + performance.now()

interface StateDigest {
  readonly version: number
  readonly stateVector: Uint8Array
  readonly clocks: Map<number, number>
  readonly digest: number
}

export class ClusterNode implements ClusterMembership {
  readonly nodeId: string
  /**
   * Who we are on the bus: NODE_ID plus a per-start suffix. A node restarted under the same
   * NODE_ID is a new incarnation, so the others time out the old one (rescuing what it had
   * not confirmed durable, dropping its clients' awareness) instead of mixing the two.
   */
  readonly busId: string
  readonly persistRemote: boolean
  private readonly transport: BusTransport
  /** Leases and the compute cache, on the same Redis. */
  readonly kv: SharedKv
  /** Per document, per origin node: the awareness client ids that node's clients own. */
  private readonly remoteAwareness = new Map<string, Map<string, Set<number>>>()
  /** Other nodes heard from, with when. */
  private readonly nodes = new Map<string, number>()
  /** Shared storage: updates from each origin not yet confirmed durable there. */
  private readonly unconfirmed = new Map<string, Unconfirmed[]>()
  /** Our own published updates: [seq, durability mark that makes them durable]. */
  private readonly published: [number, number][] = []
  private seq = 0
  private durableSeq = 0
  private readonly timer: NodeJS.Timeout
  private lastAntiEntropy = 0
  /** Per document, its state digest as of its `version` (anti-entropy compares them every pass). */
  private readonly digests = new WeakMap<SharedDoc, StateDigest>()
  private invalidLogged = 0
  private closed = false

  constructor(private readonly opts: ClusterOptions) {
    this.nodeId = opts.nodeId ?? randomUUID()
    this.busId = `${this.nodeId}.${randomBytes(4).toString('hex')}`
    this.persistRemote = opts.persistRemote
    this.transport = opts.connect({
      onMessage: (channel, message) => this.receive(channel, message),
      onReady: () => this.busReady(),
      onDown: () => opts.metrics.redisUp.set(0),
    })
    this.kv = new RedisKv(this.transport, opts.prefix)
    void this.transport.subscribe(this.nodeChannel(this.busId), this.clusterChannel)
    this.lastAntiEntropy = Date.now()
    this.timer = setInterval(() => this.tick(), opts.heartbeatMs)
    this.timer.unref()
  }

  get isUp(): boolean {
    return this.transport.isUp
  }

  /** Other nodes currently heard from. */
  get peers(): string[] {
    return [...this.nodes.keys()]
  }

  private docChannel(name: string): string {
    return `${this.opts.prefix}doc:${name}`
  }

  private nodeChannel(id: string): string {
    return `${this.opts.prefix}node:${id}`
  }

  private get clusterChannel(): string {
    return `${this.opts.prefix}cluster`
  }

  private send(channel: string, kind: BusKind, doc: string, payload: Uint8Array, extra: { seq?: number; digest?: number } = {}): boolean {
    const ok = this.transport.publish(channel, encodeEnvelope({ origin: this.busId, kind, doc, payload, sentAt: now(), seq: extra.seq ?? 0, digest: extra.digest ?? 0 }))
    if (ok) this.opts.metrics.busPublished.inc({ kind: KIND_NAMES[kind] })
    else this.opts.metrics.busDropped.inc()
    return ok
  }

  // ---- ClusterMembership (called by the registry and SharedDoc) ----

  loaded(doc: SharedDoc): void {
    void this.transport.subscribe(this.docChannel(doc.name)).then(() => {
      // Subscribed first, so the answers to this announcement reach us.
      if (this.opts.registry().peek(doc.name) === doc) this.announce(doc, BusKind.state, this.docChannel(doc.name))
    })
  }

  unloaded(doc: SharedDoc): void {
    void this.transport.unsubscribe(this.docChannel(doc.name))
    this.remoteAwareness.delete(doc.name)
  }

  publishUpdate(doc: SharedDoc, update: Uint8Array): void {
    const seq = ++this.seq
    const sent = this.send(this.docChannel(doc.name), BusKind.update, doc.name, update, { seq })
    // Durability confirmations only matter where the others do not persist what we send.
    if (sent && !this.persistRemote) this.published.push([seq, this.opts.durability.handed])
  }

  publishAwareness(doc: SharedDoc, update: Uint8Array): void {
    this.send(this.docChannel(doc.name), BusKind.awareness, doc.name, update)
  }

  // ---- anti-entropy ----

  /**
   * State vector and a digest of the delete set (deletes do not show in a state vector),
   * cached per version: together they identify the document's state on any node.
   */
  private stateDigest(doc: SharedDoc): StateDigest {
    const cached = this.digests.get(doc)
    if (cached?.version === doc.version) return cached
    const stateVector = Y.encodeStateVector(doc.doc)
    // Yjs writes delete sets sorted and merged, so equal sets give equal bytes.
    const digest = crc32(Y.encodeStateAsUpdate(doc.doc, stateVector))
    const state = { version: doc.version, stateVector, clocks: Y.decodeStateVector(stateVector), digest }
    this.digests.set(doc, state)
    return state
  }

  private announce(doc: SharedDoc, kind: BusKind, channel: string): void {
    const state = this.stateDigest(doc)
    this.send(channel, kind, doc.name, state.stateVector, { digest: state.digest })
  }

  private answerState(doc: SharedDoc, env: Envelope): void {
    const mine = this.stateDigest(doc)
    const theirs = Y.decodeStateVector(env.payload)
    let weHaveMore = false
    let theyHaveMore = false
    for (const [client, clock] of mine.clocks) if (clock > (theirs.get(client) ?? 0)) weHaveMore = true
    for (const [client, clock] of theirs) if (clock > (mine.clocks.get(client) ?? 0)) theyHaveMore = true
    const deletesDiffer = env.digest !== mine.digest
    const to = this.nodeChannel(env.origin)
    if (weHaveMore || deletesDiffer) {
      const diff = Y.encodeStateAsUpdate(doc.doc, env.payload)
      if (this.send(to, BusKind.repair, doc.name, diff)) {
        this.opts.metrics.antiEntropyRepairs.inc({ direction: 'sent' })
        this.opts.metrics.antiEntropyBytes.inc({ direction: 'sent' }, diff.length)
      }
    }
    // A reply never triggers another reply: two nodes cannot ping-pong.
    if ((theyHaveMore || deletesDiffer) && env.kind === BusKind.state) this.announce(doc, BusKind.stateReply, to)
    if (env.kind === BusKind.state) {
      // The asker may also have missed our clients' awareness (it loaded late, or the bus was down).
      const awareness = doc.encodeLocalAwareness()
      if (awareness) this.send(to, BusKind.awareness, doc.name, awareness)
    }
  }

  private busReady(): void {
    this.opts.metrics.redisUp.set(1)
    // Whatever was published while we could not hear it is repaired now, document by document.
    for (const doc of this.opts.registry().loaded()) this.announce(doc, BusKind.state, this.docChannel(doc.name))
    this.lastAntiEntropy = Date.now()
  }

  private tick(): void {
    if (this.closed) return
    const t = Date.now()
    this.confirmDurable()
    this.send(this.clusterChannel, BusKind.heartbeat, '', EMPTY, { seq: this.durableSeq })
    for (const [id, seen] of this.nodes) if (t - seen > this.opts.nodeTimeoutMs) this.nodeGone(id)
    this.opts.metrics.clusterNodes.set(this.nodes.size + 1)
    if (t - this.lastAntiEntropy >= this.opts.antiEntropyIntervalMs && this.transport.isUp) {
      this.lastAntiEntropy = t
      for (const doc of this.opts.registry().loaded()) this.announce(doc, BusKind.state, this.docChannel(doc.name))
    }
  }

  /** Our highest published seq whose update is durable in the (shared) store. */
  private confirmDurable(): void {
    const durable = this.opts.durability.shared
    let i = 0
    while (i < this.published.length && this.published[i]![1] <= durable) this.durableSeq = this.published[i++]![0]
    if (i > 0) this.published.splice(0, i)
  }

  private heard(origin: string, env: Envelope): void {
    const known = this.nodes.has(origin)
    this.nodes.set(origin, Date.now())
    if (!known) this.opts.logger.info({ node: origin }, 'cluster node joined')
    if (env.kind === BusKind.heartbeat && !this.persistRemote) {
      const list = this.unconfirmed.get(origin)
      if (list) {
        let i = 0
        while (i < list.length && list[i]!.seq <= env.seq) i++
        if (i > 0) list.splice(0, i)
      }
    }
  }

  /** A node went silent: its clients' awareness goes, and (shared storage) we persist what it may not have. */
  private nodeGone(id: string): void {
    this.nodes.delete(id)
    this.opts.logger.warn({ node: id }, 'cluster node gone (no heartbeat)')
    for (const [docName, byNode] of this.remoteAwareness) {
      const owned = byNode.get(id)
      if (!owned) continue
      byNode.delete(id)
      this.opts.registry().peek(docName)?.removeRemoteAwareness(owned)
    }
    const list = this.unconfirmed.get(id)
    this.unconfirmed.delete(id)
    if (list && list.length > 0) {
      // Idempotent for Yjs: if the origin did store them after all, nothing is lost or doubled in content.
      for (const { doc, update } of list) this.opts.persist(doc, update)
      this.opts.metrics.busRescuedUpdates.inc(list.length)
      this.opts.logger.warn({ node: id, updates: list.length }, 'persisted updates a gone node had not confirmed durable')
    }
  }

  // ---- receiving ----

  private receive(channel: string, message: Uint8Array): void {
    let env: Envelope
    try {
      env = decodeEnvelope(message)
    } catch (err) {
      this.invalid(channel, err as Error)
      return
    }
    if (env.origin === this.busId) return
    const expected = env.kind === BusKind.heartbeat ? this.clusterChannel : channel === this.nodeChannel(this.busId) ? channel : this.docChannel(env.doc)
    if (channel !== expected) return this.invalid(channel, new EnvelopeError(`a ${KIND_NAMES[env.kind]} message for ${JSON.stringify(env.doc)} on the wrong channel`))
    this.opts.metrics.busReceived.inc({ kind: KIND_NAMES[env.kind] })
    this.heard(env.origin, env)
    if (env.kind === BusKind.heartbeat) return
    const doc = this.opts.registry().peek(env.doc)
    if (!doc) return // not loaded here; it loads from storage and anti-entropy when needed
    try {
      switch (env.kind) {
        case BusKind.update:
          doc.applyRemoteUpdate(env.payload)
          this.opts.metrics.busLatency.observe(Math.max(0, now() - env.sentAt) / 1000)
          if (!this.persistRemote) this.keepUnconfirmed(env)
          break
        case BusKind.awareness:
          doc.applyRemoteAwareness(env.payload, this.ownedBy(env.doc, env.origin))
          this.opts.metrics.busLatency.observe(Math.max(0, now() - env.sentAt) / 1000)
          break
        case BusKind.repair:
          doc.applyRemoteUpdate(env.payload)
          this.opts.metrics.antiEntropyRepairs.inc({ direction: 'received' })
          this.opts.metrics.antiEntropyBytes.inc({ direction: 'received' }, env.payload.length)
          // Shared storage: a repair is what someone missed on the bus; rare, and Yjs merges
          // are idempotent, so store it rather than trust that its origin did.
          if (!this.persistRemote) this.opts.persist(env.doc, env.payload)
          break
        case BusKind.state:
        case BusKind.stateReply:
          this.answerState(doc, env)
          break
      }
    } catch (err) {
      this.invalid(channel, err as Error)
    }
  }

  private keepUnconfirmed(env: Envelope): void {
    let list = this.unconfirmed.get(env.origin)
    if (!list) this.unconfirmed.set(env.origin, (list = []))
    list.push({ seq: env.seq, doc: env.doc, update: env.payload })
    if (list.length > MAX_UNCONFIRMED) list.splice(0, list.length - MAX_UNCONFIRMED)
  }

  private ownedBy(docName: string, origin: string): Set<number> {
    let byNode = this.remoteAwareness.get(docName)
    if (!byNode) this.remoteAwareness.set(docName, (byNode = new Map()))
    let owned = byNode.get(origin)
    if (!owned) byNode.set(origin, (owned = new Set()))
    return owned
  }

  private invalid(channel: string, err: Error): void {
    this.opts.metrics.busInvalid.inc()
    // Garbage can arrive at any rate: log the first of each second, count them all.
    const t = Date.now()
    if (t - this.invalidLogged >= 1000) {
      this.invalidLogged = t
      this.opts.logger.warn({ channel, err: err.message }, 'ignored an invalid message on the cluster bus')
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.transport.close()
  }
}

const EMPTY = new Uint8Array(0)
const KIND_NAMES: Record<BusKind, string> = { 0: 'update', 1: 'awareness', 2: 'state', 3: 'state_reply', 4: 'repair', 5: 'heartbeat' }
