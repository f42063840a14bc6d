/** A read-only client's sync step 2 holds nothing new exactly when it has no structs and only deletions we have too. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { holdsUpdate } from './holds-update.ts'

function pair() {
  const server = new Y.Doc()
  const client = new Y.Doc()
  const t = server.getText('t')
  t.insert(0, 'hello world')
  t.delete(0, 6)
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server))
  return { server, client }
}

describe('holdsUpdate', () => {
  it('holds a step 2 of a client with nothing new (its whole delete set, all deleted here)', () => {
    const { server, client } = pair()
    expect(holdsUpdate(server, Y.encodeStateAsUpdate(client, Y.encodeStateVector(server)))).toBe(true)
  })

  it('does not hold new content, a deletion we lack, or garbage', () => {
    const { server, client } = pair()
    client.getText('t').insert(0, '!')
    expect(holdsUpdate(server, Y.encodeStateAsUpdate(client, Y.encodeStateVector(server)))).toBe(false)
    const { server: s2, client: c2 } = pair()
    c2.getText('t').delete(0, 1)
    expect(holdsUpdate(s2, Y.encodeStateAsUpdate(c2, Y.encodeStateVector(s2)))).toBe(false)
    expect(holdsUpdate(s2, Uint8Array.of(0, 5, 1))).toBe(false)
  })

  it('answers "new" once its budget of structs is spent, whatever the document’s size', () => {
    const { server, client } = pair()
    const step2 = Y.encodeStateAsUpdate(client, Y.encodeStateVector(server))
    expect(holdsUpdate(server, step2, 0)).toBe(false)
  })
})
