/**
 * A document deals in sessions: it subscribes them to its fan-out, skips the session an update
 * came from, checks their rights where their messages take effect, and counts their quotas on
 * the session, never across a socket.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import { decodeMessage } from '../../shared/protocol/messages.ts'
import { testSession } from '../testing/session.ts'
import { writerOptions } from '../testing/writer-options.ts'
import { awarenessTopic } from './awareness-tiers.ts'
import type { WriterOptions } from './doc-writer.ts'
import type { Session } from './session.ts'
import { SharedDoc } from './shared-doc.ts'

interface Published {
  readonly topic: string
  readonly message: Uint8Array
  readonly type: string
  readonly except: Session | undefined
}

const docs: SharedDoc[] = []
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy()
})

function sharedDoc(writer: Partial<WriterOptions> = {}) {
  const published: Published[] = []
  const persisted: Uint8Array[] = []
  const doc = new SharedDoc('doc/s', {
    publisher: { publish: (topic, message, except) => void published.push({ topic, message, type: decodeMessage(message).type, except }) },
    persist: (_name, update) => void persisted.push(update),
    batchBytes: 1 << 20,
    writer: writerOptions(writer),
  })
  docs.push(doc)
  return { doc, published, persisted }
}

/** An update of one new client (a fresh client id each call). */
function edit(key: string): Uint8Array {
  const d = new Y.Doc()
  d.getMap('m').set(key, key)
  return Y.encodeStateAsUpdate(d)
}

const awareness = (clientId: number) => encodeAwarenessUpdate([{ clientId, clock: 1, state: new TextEncoder().encode('{}') }])

describe('a document and its sessions', () => {
  it('subscribes a joining session to its topic, and a leaving one off it (unless its socket closed)', () => {
    const { doc } = sharedDoc()
    const a = testSession('doc/s')
    const b = testSession('doc/s')
    doc.join(a)
    doc.join(b)
    expect([a.doc, a.topic, [...a.link.subscribed]]).toEqual([doc, doc.topic, [doc.topic, awarenessTopic('doc/s', null)]])
    doc.leave(a)
    expect([a.doc, a.topic, [...a.link.subscribed]]).toEqual([null, null, []])
    b.link.closed = true
    b.link.unsubscribe = () => {
      throw new Error('unsubscribed a closed socket')
    }
    doc.leave(b)
    expect([b.doc, b.topic, doc.sessions.size]).toEqual([null, null, 0])
  })

  it("a session that asked for 10 Hz gets each client's newest presence at most every 100 ms; full-rate sessions every tick", async () => {
    const { doc, published } = sharedDoc()
    const full = testSession('doc/s')
    const slow = testSession('doc/s')
    slow.awarenessTier = 10
    doc.join(full)
    doc.join(slow)
    expect([...slow.link.subscribed]).toEqual([doc.topic, awarenessTopic('doc/s', 10)])
    const sender = testSession('doc/s')
    doc.join(sender)
    for (let clock = 1; clock <= 5; clock++) {
      doc.applyAwareness(encodeAwarenessUpdate([{ clientId: 7, clock, state: new TextEncoder().encode(`{"x":${clock}}`) }]), sender)
      doc.flush()
    }
    const onTopic = (topic: string) => published.filter((p) => p.topic === topic)
    expect(onTopic(awarenessTopic('doc/s', null)).length).toBe(5)
    expect(onTopic(awarenessTopic('doc/s', 10)).length).toBe(0)
    await new Promise((r) => setTimeout(r, 150)) // the tier's 100 ms interval is what is under test
    const tier = onTopic(awarenessTopic('doc/s', 10))
    expect(tier.length).toBe(1)
    const msg = decodeMessage(tier[0]!.message) as { update: Uint8Array }
    expect(decodeAwarenessUpdate(msg.update).map((e) => e.clock)).toEqual([5]) // only the newest
    doc.leave(slow)
    doc.destroy()
  })

  it('fans an update out to everyone but its session; a mixed or remote batch to everyone', () => {
    const { doc, published } = sharedDoc()
    const a = testSession('doc/s')
    const b = testSession('doc/s')
    doc.join(a)
    doc.join(b)
    expect(doc.receiveUpdate(edit('a1'), a)).toBeNull()
    doc.flush()
    const kinds = () => published.map(({ type, except }) => ({ type, except }))
    expect(kinds()).toEqual([{ type: 'update', except: a }])
    doc.receiveUpdate(edit('a2'), a)
    doc.receiveUpdate(edit('b1'), b)
    doc.flush()
    doc.applyRemoteUpdate(edit('r1'))
    doc.flush()
    // A sender that left before the flush is nobody to skip.
    doc.receiveUpdate(edit('a3'), a)
    doc.leave(a)
    doc.flush()
    // The mixed batch (a2, b1) goes to everyone: as two messages, since merging them would cost
    // more than the 2 sends it saves with 2 readers (coalesce.ts); then r1, then a3.
    expect(kinds().slice(1)).toEqual([
      { type: 'update', except: undefined },
      { type: 'update', except: undefined },
      { type: 'update', except: undefined },
      { type: 'update', except: undefined },
    ])
  })

  it('ignores the updates of a session without the write right, and the awareness of one without the awareness right', () => {
    const { doc, published, persisted } = sharedDoc()
    const reader = testSession('doc/s', { write: false, awareness: false })
    doc.join(reader)
    expect(doc.receiveUpdate(edit('x'), reader)).toBeNull()
    doc.applyAwareness(awareness(7), reader)
    doc.flush()
    expect([doc.doc.getMap('m').size, persisted.length, published, doc.awareness.size, reader.awarenessIds.size]).toEqual([0, 0, [], 0, 0])
    const writer = testSession('doc/s')
    doc.join(writer)
    doc.receiveUpdate(edit('x'), writer)
    doc.applyAwareness(awareness(8), writer)
    doc.flush()
    expect([doc.doc.getMap('m').size, persisted.length, doc.awareness.size, [...writer.awarenessIds]]).toEqual([1, 1, 1, [8]])
  })

  it('counts new client ids per session: one session at its bound leaves another on the same document its own', () => {
    const { doc } = sharedDoc({ maxSessionNewClients: 2 })
    const a = testSession('doc/s')
    const b = testSession('doc/s')
    doc.join(a)
    doc.join(b)
    expect(doc.receiveUpdate(edit('a1'), a)).toBeNull()
    expect(doc.receiveUpdate(edit('a2'), a)).toBeNull()
    expect(doc.receiveUpdate(edit('a3'), a)).toMatchObject({ kind: 'limit', limit: 'new_clients' })
    expect(doc.receiveUpdate(edit('b1'), b)).toBeNull()
    expect([a.newClients, b.newClients, doc.doc.getMap('m').size]).toEqual([2, 1, 3])
  })
})
