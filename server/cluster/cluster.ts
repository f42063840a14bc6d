/**
 * Cluster mode: any node serves any document, and what one node accepts reaches every node
 * that has the document loaded. Each job is a module of its own:
 *
 *   channels.ts      where each kind of message travels
 *   relay.ts         this node's clients' changes out, other nodes' changes in
 *   anti-entropy.ts  convergence although the bus drops messages
 *   membership.ts    heartbeats, and the rescue of a silent node's updates (shared storage)
 *   kv.ts            leases and the compute cache, on the same Redis
 *
 * This node composes them and owns what they share: the bus connection (bus.ts), the
 * documents loaded here, and the decoding and checking of everything that arrives (a node
 * ignores its own messages, and garbage costs a counter, never a crash).
 *
 * Dependencies go one way. The registry tells the cluster what is loaded and its documents
 * hand over their own changes (ClusterMembership, server/documents/registry.ts); the cluster
 * never asks the registry. Storage tells it what is durable (the durability watermark) and
 * is handed what only the cluster will store; it never reaches into the group commit.
 *
 * With shared storage (the store says `shared`), only the node a change arrived on persists
 * it (membership.ts says how the others make sure it did).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { DurableWatermark } from '../documents/durability.ts'
import type { ClusterMembership } from '../documents/registry.ts'
import type { SharedDoc } from '../documents/shared-doc.ts'
import { decodeStatelessPayload, encodeStatelessMessage, HocuspocusType } from '../../shared/protocol/hocuspocus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { AntiEntropy } from './anti-entropy.ts'
import { Channels } from './channels.ts'
import { BusKind, decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from './envelope.ts'
import { RedisKv, type KvConnection, type SharedKv } from './kv.ts'
import { Membership } from './membership.ts'
import { Relay } from './relay.ts'

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
  /** Another node announced a token revocation (its payload: JSON, checked by the receiver). */
  readonly revoked?: (payload: Uint8Array) => void
  /** Redis became reachable (at start, and after every outage). */
  readonly ready?: () => void
}

const now = () => performance.timeOrigin + performance.now()

export class ClusterNode implements ClusterMembership {
  readonly nodeId: string
  /**
   * Who we are on the bus: NODE_ID plus a per-start suffix. A node restarted under the same
   * NODE_ID is a new incarnation, so the others time out the old one (rescuing what it had
   * not confirmed durable, dropping its clients' awareness) instead of mixing the two.
   */
  readonly busId: string
  readonly persistRemote: boolean
  /** Leases and the compute cache, on the same Redis. */
  readonly kv: SharedKv
  private readonly transport: BusTransport
  private readonly channels: Channels
  private readonly relay: Relay
  private readonly antiEntropy: AntiEntropy
  private readonly membership: Membership
  /** The documents loaded here, as the registry told us. */
  private readonly docs = new Map<string, SharedDoc>()
  private readonly timer: NodeJS.Timeout
  private invalidLogged = 0
  private closed = false

  constructor(private readonly opts: ClusterOptions) {
    this.nodeId = opts.nodeId ?? randomUUID()
    this.busId = `${this.nodeId}.${randomBytes(4).toString('hex')}`
    this.persistRemote = opts.persistRemote
    this.channels = new Channels(opts.prefix, this.busId)
    const send = this.send.bind(this)
    const { metrics, logger } = opts
    // With shared storage, the others store nothing of ours: what they missed, we must have stored.
    const rescue = opts.persistRemote ? undefined : { durability: opts.durability, persist: opts.persist }
    this.relay = new Relay({ send, channels: this.channels, metrics })
    this.antiEntropy = new AntiEntropy({ send, channels: this.channels, metrics, intervalMs: opts.antiEntropyIntervalMs, persist: rescue?.persist })
    this.membership = new Membership({
      send,
      channels: this.channels,
      timeoutMs: opts.nodeTimeoutMs,
      rescue,
      gone: (id) => this.relay.nodeGone(id, (name) => this.docs.get(name)),
      logger,
      metrics,
    })
    this.transport = opts.connect({
      onMessage: (channel, message) => this.receive(channel, message),
      onReady: () => this.busReady(),
      onDown: () => metrics.redisUp.set(0),
    })
    this.kv = new RedisKv(this.transport, opts.prefix)
    void this.transport.subscribe(this.channels.own, this.channels.cluster)
    this.timer = setInterval(() => this.tick(), opts.heartbeatMs)
    this.timer.unref()
  }

  get isUp(): boolean {
    return this.transport.isUp
  }

  /** Other nodes currently heard from. */
  get peers(): string[] {
    return this.membership.peers
  }

  // ---- ClusterMembership (called by the registry and SharedDoc) ----

  loaded(doc: SharedDoc): void {
    this.docs.set(doc.name, doc)
    void this.transport.subscribe(this.channels.doc(doc.name)).then(() => {
      // Subscribed first, so the answers to this announcement reach us.
      if (this.docs.get(doc.name) === doc) this.antiEntropy.announce(doc)
    })
  }

  unloaded(doc: SharedDoc): void {
    if (this.docs.get(doc.name) === doc) this.docs.delete(doc.name)
    void this.transport.unsubscribe(this.channels.doc(doc.name))
    this.relay.unloaded(doc.name)
  }

  publishUpdate(doc: SharedDoc, update: Uint8Array): void {
    const seq = this.relay.publishUpdate(doc, update)
    if (seq > 0) this.membership.sent(seq)
  }

  /** Announces a token revocation to every node (they close the matching sessions); false when the bus is down. */
  publishRevocation(payload: Uint8Array): boolean {
    return this.send(this.channels.cluster, BusKind.revoke, '', payload)
  }

  publishAwareness(doc: SharedDoc, update: Uint8Array): void {
    this.relay.publishAwareness(doc, update)
  }

  publishStateless(doc: SharedDoc, message: Uint8Array): void {
    this.publishStatelessTo(doc.name, message)
  }

  /** A stateless message for a document's clients on the other nodes (it need not be loaded here). */
  publishStatelessTo(name: string, message: Uint8Array): void {
    this.send(this.channels.doc(name), BusKind.stateless, name, message)
  }

  // ---- the bus ----

  private send(channel: string, kind: BusKind, doc: string, payload: Uint8Array, extra: { readonly seq?: number; readonly digest?: number } = {}): boolean {
    const ok = this.transport.publish(
      channel,
      encodeEnvelope({ origin: this.busId, kind, doc, payload, sentAt: now(), seq: extra.seq ?? 0, digest: extra.digest ?? 0 }),
    )
    if (ok) this.opts.metrics.busPublished.inc({ kind: KIND_NAMES[kind] })
    else this.opts.metrics.busDropped.inc()
    return ok
  }

  private busReady(): void {
    this.opts.metrics.redisUp.set(1)
    // Whatever was published while we could not hear it is repaired now, document by document.
    this.antiEntropy.pass(this.docs.values())
    this.opts.ready?.()
  }

  private tick(): void {
    if (this.closed) return
    this.membership.tick()
    this.antiEntropy.tick(this.docs.values(), this.transport.isUp)
  }

  private receive(channel: string, message: Uint8Array): void {
    let env: Envelope
    try {
      env = decodeEnvelope(message)
    } catch (err) {
      this.invalid(channel, err as Error)
      return
    }
    if (env.origin === this.busId) return
    if (!this.channels.fits(channel, env))
      return this.invalid(channel, new EnvelopeError(`a ${KIND_NAMES[env.kind]} message for ${JSON.stringify(env.doc)} on the wrong channel`))
    this.opts.metrics.busReceived.inc({ kind: KIND_NAMES[env.kind] })
    this.membership.heard(env)
    if (env.kind === BusKind.heartbeat) return
    if (env.kind === BusKind.revoke) {
      this.opts.revoked?.(env.payload)
      return
    }
    const doc = this.docs.get(env.doc)
    if (!doc) return // not loaded here; it loads from storage and anti-entropy when needed
    try {
      switch (env.kind) {
        case BusKind.update:
          this.relay.receiveUpdate(doc, env)
          this.membership.keep(env)
          break
        case BusKind.awareness:
          this.relay.receiveAwareness(doc, env)
          break
        case BusKind.stateless:
          // Checked before it reaches clients: a provider throws on a message it cannot read.
          doc.applyRemoteStateless(encodeStatelessMessage(decodeStatelessPayload(checkedStateless(env.payload))))
          break
        case BusKind.repair:
          this.antiEntropy.receiveRepair(doc, env)
          break
        case BusKind.state:
        case BusKind.stateReply:
          this.antiEntropy.receiveState(doc, env)
          break
      }
    } catch (err) {
      this.invalid(channel, err as Error)
    }
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

/** The body of a stateless message (after its type byte), or EnvelopeError. */
function checkedStateless(payload: Uint8Array): Uint8Array {
  if (payload[0] !== HocuspocusType.Stateless) throw new EnvelopeError('a stateless message of another type')
  return payload.subarray(1)
}

const KIND_NAMES: Record<BusKind, string> = {
  0: 'update',
  1: 'awareness',
  2: 'state',
  3: 'state_reply',
  4: 'repair',
  5: 'heartbeat',
  6: 'revoke',
  7: 'stateless',
}
