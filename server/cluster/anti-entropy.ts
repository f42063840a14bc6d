/**
 * Anti-entropy: Redis pub/sub is at-most-once, so convergence never depends on it. A node
 * announces a document's state vector and delete-set digest when it loads the document,
 * whenever the bus comes back, and every interval; a node that holds more sends the
 * difference to that node only, and a node that holds less asks back. Equal states cost one
 * small message and two cached comparisons.
 *
 * Rules: a reply never triggers another reply, so two nodes cannot ping-pong; repairs go to
 * one node, never to a document's channel. Digests are cached per document version, here
 * and not in the document (it is the only user). With shared storage a repair received is
 * handed to storage too: it is what someone missed on the bus, rare, and Yjs merges are
 * idempotent, so storing it beats trusting that its origin did.
 */
import { crc32 } from 'node:zlib'
import * as Y from 'yjs'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'
import type { Channels, Send } from './channels.ts'
import { BusKind, type Envelope } from './envelope.ts'

export interface AntiEntropyOptions {
  readonly send: Send
  readonly channels: Channels
  readonly metrics: Metrics
  readonly intervalMs: number
  /** Shared storage only: hands a received repair to storage. */
  readonly persist?: ((name: string, update: Uint8Array) => void) | undefined
}

interface StateDigest {
  readonly version: number
  readonly stateVector: Uint8Array
  readonly clocks: Map<number, number>
  readonly digest: number
}

export class AntiEntropy {
  private readonly digests = new WeakMap<SharedDoc, StateDigest>()
  private lastPass = Date.now()

  constructor(private readonly opts: AntiEntropyOptions) {}

  /** Asks every node holding the document what it has (answers reach us on our own channel). */
  announce(doc: SharedDoc): void {
    this.sendState(doc, BusKind.state, this.opts.channels.doc(doc.name))
  }

  /** Announces every document: when the bus is back, whatever was published meanwhile is repaired. */
  pass(docs: Iterable<SharedDoc>): void {
    this.lastPass = Date.now()
    for (const doc of docs) this.announce(doc)
  }

  /** The periodic pass, when its interval is up. */
  tick(docs: Iterable<SharedDoc>, busUp: boolean): void {
    if (busUp && Date.now() - this.lastPass >= this.opts.intervalMs) this.pass(docs)
  }

  /** A `state` or `stateReply`: send what the other lacks, and ask back for what we lack. */
  receiveState(doc: SharedDoc, env: Envelope): void {
    const mine = this.stateDigest(doc)
    const theirs = Y.decodeStateVector(env.payload)
    let weHaveMore = false
    let theyHaveMore = false
    for (const [client, clock] of mine.clocks) if (clock > (theirs.get(client) ?? 0)) weHaveMore = true
    for (const [client, clock] of theirs) if (clock > (mine.clocks.get(client) ?? 0)) theyHaveMore = true
    const deletesDiffer = env.digest !== mine.digest
    const to = this.opts.channels.node(env.origin)
    if (weHaveMore || deletesDiffer) {
      const diff = Y.encodeStateAsUpdate(doc.doc, env.payload)
      if (this.opts.send(to, BusKind.repair, doc.name, diff)) {
        this.opts.metrics.antiEntropyRepairs.inc({ direction: 'sent' })
        this.opts.metrics.antiEntropyBytes.inc({ direction: 'sent' }, diff.length)
      }
    }
    if (env.kind !== BusKind.state) return
    if (theyHaveMore || deletesDiffer) this.sendState(doc, BusKind.stateReply, to)
    // The asker may also have missed our clients' awareness (it loaded late, or the bus was down).
    const awareness = doc.encodeLocalAwareness()
    if (awareness) this.opts.send(to, BusKind.awareness, doc.name, awareness)
  }

  receiveRepair(doc: SharedDoc, env: Envelope): void {
    doc.applyRemoteUpdate(env.payload)
    this.opts.metrics.antiEntropyRepairs.inc({ direction: 'received' })
    this.opts.metrics.antiEntropyBytes.inc({ direction: 'received' }, env.payload.length)
    this.opts.persist?.(doc.name, env.payload)
  }

  private sendState(doc: SharedDoc, kind: BusKind, channel: string): void {
    const state = this.stateDigest(doc)
    this.opts.send(channel, kind, doc.name, state.stateVector, { digest: state.digest })
  }

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
}
