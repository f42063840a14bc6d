/**
 * Channel naming: where each kind of cluster message travels. The names are part of the wire
 * format that every node on one Redis shares (one still running the previous release
 * included), so they change only together with the envelope's version.
 *
 *   <prefix>doc:<name>   updates, awareness, anti-entropy requests of a document
 *   <prefix>node:<id>    repairs and replies meant for one node
 *   <prefix>cluster      heartbeats, token revocations
 */
import { BusKind, type Envelope } from './envelope.ts'

/** How the cluster's modules publish: an envelope's fields less those the node fills in (origin, sent-at). False when dropped. */
export type Send = (channel: string, kind: BusKind, doc: string, payload: Uint8Array, extra?: { readonly seq?: number; readonly digest?: number }) => boolean

export class Channels {
  /** Heartbeats of every node. */
  readonly cluster: string
  /** Messages meant for this node only. */
  readonly own: string

  constructor(
    private readonly prefix: string,
    self: string,
  ) {
    this.cluster = `${prefix}cluster`
    this.own = this.node(self)
  }

  doc(name: string): string {
    return `${this.prefix}doc:${name}`
  }

  node(id: string): string {
    return `${this.prefix}node:${id}`
  }

  /** Whether a message arrived where its kind travels; anything else was written by a stray publisher. */
  fits(channel: string, env: Envelope): boolean {
    if (env.kind === BusKind.heartbeat || env.kind === BusKind.revoke) return channel === this.cluster
    return channel === this.own || channel === this.doc(env.doc)
  }
}
