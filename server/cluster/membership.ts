/**
 * Membership: who else is on the bus, and the rescue of a silent node's updates.
 *
 * Every node says it is alive each heartbeat, on the cluster channel. A node not heard from
 * for the timeout is gone: `gone` is told (its clients' awareness leaves), and it counts as
 * new if it comes back.
 *
 * Rescue, with shared storage only (there the node a change arrived on is the only one that
 * stores it): the heartbeat also says up to which of our published updates everything is in
 * the shared store, read from storage's durability watermark (never asked of the group
 * commit); the other nodes keep our updates until then. If a node goes silent before saying
 * so, we hand what we kept of it to storage ourselves: if it did store them after all, Yjs
 * merges are idempotent, and nothing is lost or doubled in content.
 */
import type { DurableWatermark } from '../documents/durability.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { Channels, Send } from './channels.ts'
import { BusKind, type Envelope } from './envelope.ts'

/** Shared storage: what storage says is durable, and how to store what a gone node may not have. */
export interface Rescue {
  readonly durability: DurableWatermark
  readonly persist: (name: string, update: Uint8Array) => void
}

export interface MembershipOptions {
  readonly send: Send
  readonly channels: Channels
  readonly timeoutMs: number
  readonly rescue?: Rescue | undefined
  /** A node went silent. */
  readonly gone: (id: string) => void
  readonly logger: Logger
  readonly metrics: Metrics
}

interface Unconfirmed {
  readonly seq: number
  readonly doc: string
  readonly update: Uint8Array
}

/** Most unconfirmed updates kept per origin node. */
const MAX_UNCONFIRMED = 50_000
const EMPTY = new Uint8Array(0)

export class Membership {
  /** Other nodes heard from, with when. */
  private readonly nodes = new Map<string, number>()
  /** Updates from each origin not yet confirmed durable there. */
  private readonly unconfirmed = new Map<string, Unconfirmed[]>()
  /** Our own published updates: [seq, durability mark that makes them durable]. */
  private readonly published: [number, number][] = []
  private durableSeq = 0

  constructor(private readonly opts: MembershipOptions) {}

  /** Other nodes currently heard from. */
  get peers(): string[] {
    return [...this.nodes.keys()]
  }

  /** One of our updates went out as `seq`; it was handed to storage before it was published. */
  sent(seq: number): void {
    if (this.opts.rescue) this.published.push([seq, this.opts.rescue.durability.handed])
  }

  /** Any message from another node: it is alive; its heartbeat confirms what it stored. */
  heard(env: Envelope): void {
    const known = this.nodes.has(env.origin)
    this.nodes.set(env.origin, Date.now())
    if (!known) this.opts.logger.info({ node: env.origin }, 'cluster node joined')
    const list = env.kind === BusKind.heartbeat ? this.unconfirmed.get(env.origin) : undefined
    if (list) {
      let i = 0
      while (i < list.length && list[i]!.seq <= env.seq) i++
      if (i > 0) list.splice(0, i)
    }
  }

  /** An update from another node, of a document loaded here: kept until its origin says it is stored. */
  keep(env: Envelope): void {
    if (!this.opts.rescue) return
    let list = this.unconfirmed.get(env.origin)
    if (!list) this.unconfirmed.set(env.origin, (list = []))
    list.push({ seq: env.seq, doc: env.doc, update: env.payload })
    if (list.length > MAX_UNCONFIRMED) list.splice(0, list.length - MAX_UNCONFIRMED)
  }

  /** Each heartbeat: say we are alive (and what of ours is stored), and time out the silent. */
  tick(): void {
    const t = Date.now()
    this.confirmDurable()
    this.opts.send(this.opts.channels.cluster, BusKind.heartbeat, '', EMPTY, { seq: this.durableSeq })
    for (const [id, seen] of this.nodes) if (t - seen > this.opts.timeoutMs) this.nodeGone(id)
    this.opts.metrics.clusterNodes.set(this.nodes.size + 1)
  }

  /** Our highest published seq whose update is in the shared store. */
  private confirmDurable(): void {
    if (!this.opts.rescue) return
    const durable = this.opts.rescue.durability.shared
    let i = 0
    while (i < this.published.length && this.published[i]![1] <= durable) this.durableSeq = this.published[i++]![0]
    if (i > 0) this.published.splice(0, i)
  }

  private nodeGone(id: string): void {
    this.nodes.delete(id)
    this.opts.logger.warn({ node: id }, 'cluster node gone (no heartbeat)')
    this.opts.gone(id)
    const list = this.unconfirmed.get(id)
    this.unconfirmed.delete(id)
    if (!list || list.length === 0 || !this.opts.rescue) return
    for (const { doc, update } of list) this.opts.rescue.persist(doc, update)
    this.opts.metrics.busRescuedUpdates.inc(list.length)
    this.opts.logger.warn({ node: id, updates: list.length }, 'persisted updates a gone node had not confirmed durable')
  }
}
