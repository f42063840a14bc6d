/**
 * Relay: this node's clients' changes out to a document's channel, other nodes' changes in.
 *
 * Rules: only what this node's clients did is published (SharedDoc hands over nothing else,
 * once per tick, merged); what arrives is applied with the remote origin and never published
 * again, so nothing loops. Our updates are numbered (`seq`, per node) for membership's
 * durability confirmations. Which awareness ids each node's clients own is remembered per
 * document, so they leave with that node.
 */
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'
import type { Channels, Send } from './channels.ts'
import { BusKind, type Envelope } from './envelope.ts'

export interface RelayOptions {
  readonly send: Send
  readonly channels: Channels
  readonly metrics: Metrics
}

const now = () => performance.timeOrigin + performance.now()

export class Relay {
  private seq = 0
  /** Per document, per origin node: the awareness client ids that node's clients own. */
  private readonly remoteAwareness = new Map<string, Map<string, Set<number>>>()

  constructor(private readonly opts: RelayOptions) {}

  /** Publishes one of our updates; its number, or 0 when the bus dropped it. */
  publishUpdate(doc: SharedDoc, update: Uint8Array): number {
    const seq = ++this.seq
    return this.opts.send(this.opts.channels.doc(doc.name), BusKind.update, doc.name, update, { seq }) ? seq : 0
  }

  publishAwareness(doc: SharedDoc, update: Uint8Array): void {
    this.opts.send(this.opts.channels.doc(doc.name), BusKind.awareness, doc.name, update)
  }

  receiveUpdate(doc: SharedDoc, env: Envelope): void {
    doc.applyRemoteUpdate(env.payload)
    this.observeLatency(env)
  }

  receiveAwareness(doc: SharedDoc, env: Envelope): void {
    doc.applyRemoteAwareness(env.payload, this.ownedBy(doc.name, env.origin))
    this.observeLatency(env)
  }

  unloaded(name: string): void {
    this.remoteAwareness.delete(name)
  }

  /** A node went silent: its clients' awareness leaves every document loaded here. */
  nodeGone(id: string, loaded: (name: string) => SharedDoc | undefined): void {
    for (const [name, byNode] of this.remoteAwareness) {
      const owned = byNode.get(id)
      if (!owned) continue
      byNode.delete(id)
      loaded(name)?.removeRemoteAwareness(owned)
    }
  }

  private ownedBy(name: string, origin: string): Set<number> {
    let byNode = this.remoteAwareness.get(name)
    if (!byNode) this.remoteAwareness.set(name, (byNode = new Map()))
    let owned = byNode.get(origin)
    if (!owned) byNode.set(origin, (owned = new Set()))
    return owned
  }

  private observeLatency(env: Envelope): void {
    this.opts.metrics.busLatency.observe(Math.max(0, now() - env.sentAt) / 1000)
  }
}
