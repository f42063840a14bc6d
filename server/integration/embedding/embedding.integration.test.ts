/**
 * The embedding API: createAtrium in this process with its hooks, as the README shows it: an
 * app's own session cookie instead of JWT, and onLoad / onChange / onStore.
 */
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { closeCodes, eventually, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { tempDir } from '../../../load-tests/harness/server-process.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { type Atrium, configWith, createAtrium, createLogger, identityOf } from '../../index.ts'

/** A provider whose socket carries a cookie, as a browser's would. */
function withCookie(url: string, name: string, cookie: string): WebsocketProvider {
  class CookieSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie } })
    }
  }
  return new WebsocketProvider(url, name, new Y.Doc(), { WebSocketPolyfill: CookieSocket as never, disableBc: true })
}

describe('createAtrium with hooks', () => {
  let server: Atrium
  afterAll(() => server?.close())

  it('authenticates with the app session, and tells the app what loads, changes and is stored', async () => {
    const sessions: Record<string, string> = { s1: 'alice', s2: 'bob' }
    const loaded: string[] = []
    const changes: { name: string; origin: string }[] = []
    const stored = new Set<string>()
    server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '0.0.0.0', DATA_DIR: await tempDir() }), // guarded by the hook, so any interface is allowed
      logger: createLogger({ level: 'silent', pretty: false }),
      hooks: {
        authenticate: ({ cookie }) => {
          const user = sessions[/session=(\w+)/.exec(cookie)?.[1] ?? '']
          if (!user) return null
          return identityOf({ sub: user, docs: user === 'alice' ? { 'team/**': 'write' } : { 'team/**': 'read' } })
        },
        onLoad: (name) => loaded.push(name),
        onChange: (name, _update, origin) => changes.push({ name, origin }),
        onStore: (names) => {
          for (const n of names) stored.add(n)
        },
      },
    })
    const url = `ws://127.0.0.1:${server.port}`
    const alice = withCookie(url, 'team/plan', 'session=s1')
    const bob = withCookie(url, 'team/plan', 'session=s2')
    const stranger = withCookie(url, 'team/plan', 'session=nope')
    const strangerCodes = closeCodes(stranger)
    await Promise.all([synced(alice), synced(bob)])
    alice.doc.getMap('m').set('owner', 'alice')
    await untilDoc(bob.doc, 'alice edit on bob', (d) => d.getMap('m').get('owner') === 'alice')
    bob.doc.getMap('m').set('owner', 'bob') // read-only: ignored
    await eventually(
      'the stranger refused',
      async () => strangerCodes.length,
      (n) => n > 0,
    )
    expect(strangerCodes[0]).toBe(CloseCodes.UNAUTHORIZED.code)
    await eventually(
      'stored',
      async () => stored.has('team/plan'),
      (s) => s,
    )
    expect(loaded).toEqual(['team/plan'])
    expect(changes).toEqual([{ name: 'team/plan', origin: 'client' }])
    const rest = await fetch(`http://127.0.0.1:${server.port}/api/documents/team%2Fplan`, { headers: { cookie: 'session=s2' } })
    expect(rest.status).toBe(200)
    for (const p of [alice, bob, stranger]) p.destroy()
  })
})
