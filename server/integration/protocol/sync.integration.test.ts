import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'

describe('y-websocket clients against a real Atrium process', () => {
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServerProcess()
  })
  afterAll(() => killAllServers())

  it('two providers edit concurrently and converge; a late joiner gets the full state', async () => {
    const name = 'doc/hq-tower'
    const a = provider(server.wsUrl, name)
    const b = provider(server.wsUrl, `${name}?token=ignored`.split('?')[0]!)
    await Promise.all([synced(a), synced(b)])
    const ma = a.doc.getMap<string>('objects')
    const mb = b.doc.getMap<string>('objects')
    for (let i = 0; i < 50; i++) {
      ma.set(`a${i}`, `from a ${i}`)
      mb.set(`b${i}`, `from b ${i}`)
    }
    a.doc.getText('t').insert(0, 'hello ')
    b.doc.getText('t').insert(0, 'world ')
    const full = (d: Y.Doc) => d.getMap('objects').size === 100 && d.getText('t').length === 12
    await Promise.all([untilDoc(a.doc, 'a converged', full), untilDoc(b.doc, 'b converged', full)])
    expect(a.doc.getMap('objects').toJSON()).toEqual(b.doc.getMap('objects').toJSON())
    expect(a.doc.getText('t').toString()).toBe(b.doc.getText('t').toString())

    const c = provider(server.wsUrl, name)
    await synced(c)
    await untilDoc(c.doc, 'late joiner has everything', full)
    expect(Y.encodeStateVector(c.doc)).toEqual(Y.encodeStateVector(a.doc))
    expect(c.doc.getMap('objects').toJSON()).toEqual(a.doc.getMap('objects').toJSON())
    for (const p of [a, b, c]) p.destroy()
  })

  it('accepts query parameters and shows awareness that disappears on disconnect', async () => {
    const name = 'doc/awareness'
    const a = new (await import('y-websocket')).WebsocketProvider(server.wsUrl, name, new Y.Doc(), {
      WebSocketPolyfill: (await import('ws')).default as never,
      disableBc: true,
      params: { token: 'abc', v: '1' },
    })
    const b = provider(server.wsUrl, name)
    await Promise.all([synced(a), synced(b)])
    a.awareness.setLocalStateField('user', { name: 'Ada', pose: { p: [1, 2, 3], q: [0, 0, 0, 1] } })
    const seesAda = () => (b.awareness.getStates().get(a.awareness.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'Ada'
    const onB = on(b.awareness, 'change')
    await until('b sees a', seesAda, onB)

    const c = provider(server.wsUrl, name)
    await synced(c)
    const onC = on(c.awareness, 'change')
    await until('late joiner sees a', () => c.awareness.getStates().has(a.awareness.clientID), onC)

    a.destroy() // y-websocket sends no removal itself when the socket just closes; the server announces it
    await until('b sees a leave', () => !b.awareness.getStates().has(a.awareness.clientID), onB)
    await until('c sees a leave', () => !c.awareness.getStates().has(a.awareness.clientID), onC)
    b.destroy()
    c.destroy()
  })
})
