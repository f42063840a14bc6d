import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { PendingTracker } from './pending.ts'

/** A client doc whose local updates feed a tracker, and a "server" doc that receives them when told. */
function setup() {
  const client = new Y.Doc()
  const server = new Y.Doc()
  const tracker = new PendingTracker()
  const updates: Uint8Array[] = []
  client.on('update', (u: Uint8Array) => {
    tracker.local(u)
    updates.push(u)
  })
  const deliver = () => {
    for (const u of updates.splice(0)) Y.applyUpdate(server, u)
  }
  /** The server's answer to the tracker's probe, as the server computes it. */
  const answer = () => Y.encodeStateAsUpdate(server, Y.encodeStateVector(tracker.probeStateVector(Y.decodeStateVector(Y.encodeStateVector(client)))))
  return { client, server, tracker, deliver, answer }
}

describe('PendingTracker', () => {
  it('counts local transactions until an answer from the server shows them', () => {
    const { client, tracker, deliver, answer } = setup()
    client.getMap('m').set('a', 1)
    client.getMap('m').set('b', 2)
    expect(tracker.count).toBe(2)
    expect(tracker.serverUpdate(answer(), true)).toBe(false) // the server has neither yet
    expect(tracker.count).toBe(2)
    deliver()
    expect(tracker.serverUpdate(answer(), true)).toBe(true)
    expect(tracker.count).toBe(0)
  })

  it('is confirmed by the server’s state vector (its sync step 1 after a reconnect)', () => {
    const { client, server, tracker, deliver } = setup()
    client.getMap('m').set('a', 1)
    deliver()
    tracker.reset()
    expect(tracker.count).toBe(1)
    tracker.serverStateVector(Y.encodeStateVector(server))
    expect(tracker.count).toBe(0)
  })

  it('keeps a deletion pending until the server’s delete set covers it, whatever its state vector says', () => {
    const { client, server, tracker, deliver, answer } = setup()
    client.getText('t').insert(0, 'hello world')
    deliver()
    tracker.serverUpdate(answer(), true)
    expect(tracker.count).toBe(0)
    client.getText('t').delete(2, 5) // no new struct: the state vector does not move
    expect(tracker.count).toBe(1)
    tracker.serverStateVector(Y.encodeStateVector(server))
    tracker.serverUpdate(answer(), true)
    expect(tracker.count).toBe(1)
    deliver()
    tracker.serverUpdate(answer(), true)
    expect(tracker.count).toBe(0)
    expect(server.getText('t').toString()).toBe('heorld')
  })

  it('does not take a delete set that covers only part of a deletion', () => {
    const { client, tracker, answer, server } = setup()
    client.getText('t').insert(0, 'abcdef')
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client))
    tracker.serverUpdate(answer(), true)
    client.getText('t').delete(1, 4)
    // The server deleted only part of it (another client's delete of 'bc').
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server))
    other.getText('t').delete(1, 2)
    Y.applyUpdate(server, Y.encodeStateAsUpdate(other))
    tracker.serverUpdate(answer(), true)
    expect(tracker.count).toBe(1)
  })

  it('asks with a state vector lowered to what the server is known to hold, so the answer carries the pending structs', () => {
    const { client, tracker, deliver, answer } = setup()
    client.getMap('m').set('a', 1)
    const sv = tracker.probeStateVector(Y.decodeStateVector(Y.encodeStateVector(client)))
    expect(sv.get(client.clientID)).toBe(0)
    deliver()
    expect(Y.parseUpdateMeta(answer()).to.get(client.clientID)).toBe(1)
  })

  it('counts nothing for an update with nothing in it', () => {
    const tracker = new PendingTracker()
    tracker.local(Y.encodeStateAsUpdate(new Y.Doc()))
    expect(tracker.count).toBe(0)
  })
})
