/**
 * Anti-entropy on its own (no Redis): two nodes whose copies of a document diverged, by
 * inserts or only by deletes (which a state vector does not show), converge from one
 * announcement; replies never trigger replies, and equal states cost one message.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { SharedDoc } from '../documents/shared-doc.ts'
import { createMetrics } from '../metrics.ts'
import { writerOptions } from '../testing/writer-options.ts'
import { AntiEntropy } from './anti-entropy.ts'
import { Channels, type Send } from './channels.ts'
import { BusKind, type Envelope } from './envelope.ts'

interface Node {
  readonly id: string
  readonly doc: SharedDoc
  readonly antiEntropy: AntiEntropy
  readonly stored: Uint8Array[]
}

/** Two nodes on a bus that delivers at once; returns them and the kinds of every message sent. */
function pair() {
  const sent: string[] = []
  const nodes: Node[] = []
  const make = (id: string): Node => {
    const channels = new Channels('t:', id)
    const send: Send = (channel, kind, doc, payload, extra) => {
      sent.push(`${id}:${kind}`)
      const env: Envelope = { origin: id, kind, doc, payload, sentAt: 0, seq: 0, digest: extra?.digest ?? 0 }
      for (const to of nodes) if (to.id !== id && (channel === channels.doc(doc) || channel === channels.node(to.id))) deliver(to, env)
      return true
    }
    const stored: Uint8Array[] = []
    const doc = new SharedDoc('d', { publisher: { publish() {} }, persist() {}, batchBytes: 1 << 20, writer: writerOptions() })
    return {
      id,
      doc,
      stored,
      antiEntropy: new AntiEntropy({ send, channels, metrics: createMetrics(), intervalMs: 60_000, persist: (_name, update) => stored.push(update) }),
    }
  }
  const deliver = (to: Node, env: Envelope) => {
    if (env.kind === BusKind.repair) to.antiEntropy.receiveRepair(to.doc, env)
    else if (env.kind === BusKind.state || env.kind === BusKind.stateReply) to.antiEntropy.receiveState(to.doc, env)
  }
  nodes.push(make('a'), make('b'))
  return { a: nodes[0]!, b: nodes[1]!, sent }
}

const content = (n: Node) => n.doc.doc.getMap('m').toJSON()

describe('AntiEntropy', () => {
  it('repairs both ways from one announcement, without ping-pong', () => {
    const { a, b, sent } = pair()
    a.doc.doc.getMap('m').set('x', 1)
    b.doc.doc.getMap('m').set('y', 2)
    a.antiEntropy.announce(a.doc)
    expect(content(a)).toEqual({ x: 1, y: 2 })
    expect(content(b)).toEqual({ x: 1, y: 2 })
    // a: state; b: repair + reply; a: repair (a reply is never answered with a reply).
    expect(sent).toEqual([`a:${BusKind.state}`, `b:${BusKind.repair}`, `b:${BusKind.stateReply}`, `a:${BusKind.repair}`])
    expect(a.stored).toHaveLength(1) // with shared storage, a repair received is stored
    sent.length = 0
    a.antiEntropy.announce(a.doc)
    expect(sent).toEqual([`a:${BusKind.state}`]) // equal states: one message
    a.doc.destroy()
    b.doc.destroy()
  })

  it('repairs a difference in deletes only (equal state vectors)', () => {
    const { a, b } = pair()
    a.doc.doc.getMap('m').set('x', 1)
    a.antiEntropy.announce(a.doc)
    expect(content(b)).toEqual({ x: 1 })
    a.doc.doc.getMap('m').delete('x')
    expect(Y.encodeStateVector(a.doc.doc)).toEqual(Y.encodeStateVector(b.doc.doc))
    b.antiEntropy.announce(b.doc)
    expect(content(b)).toEqual({})
    a.doc.destroy()
    b.doc.destroy()
  })
})
