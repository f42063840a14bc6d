/**
 * Unchanged HocuspocusProviders from npm (3.4.4 and 4.8.0) on Atrium's port, given its base URL,
 * editing one document together with a y-websocket WebsocketProvider: updates and awareness
 * both ways, acknowledgements, and the auth handshake (no token, bad token, read-only, no right).
 * The browser editor's page is still served at / (only the WebSocket upgrade there is Hocuspocus).
 */
import { HocuspocusProvider as ProviderV3, HocuspocusProviderWebsocket as SocketV3 } from '@hocuspocus/provider'
import { HocuspocusProvider as ProviderV4, HocuspocusProviderWebsocket as SocketV4 } from 'hocuspocus-provider-v4'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { mintToken } from '../../auth/mint.ts'
import { type InProcessServer, startInProcess } from '../../testing/in-process.ts'

const SECRET = 'integration-secret-of-32-characters-at-least'
const mint = (docs: Record<string, 'none' | 'read' | 'write'>, o: { ttlS?: number; secret?: string } = {}) =>
  mintToken({ secret: o.secret ?? SECRET, sub: 'hp-tester', docs, ttlS: o.ttlS ?? 600 })

/** The two provider generations under test, constructed the way their users do. */
const generations = [
  { name: 'provider 3.x', Provider: ProviderV3, Socket: SocketV3 },
  { name: 'provider 4.x', Provider: ProviderV4, Socket: SocketV4 },
] as const

interface Opened {
  readonly p: InstanceType<typeof ProviderV3>
  readonly doc: Y.Doc
  readonly events: { authenticated: string[]; failed: string[]; stateless: string[] }
}

const open: { destroy(): void }[] = []

/** A provider of `name` on its own socket at the server's base URL, recording its auth events. */
function hp(gen: (typeof generations)[number], url: string, name: string, token: string | null = null): Opened {
  const doc = new Y.Doc()
  const events = { authenticated: [] as string[], failed: [] as string[], stateless: [] as string[] }
  const socket = new gen.Socket({ url, WebSocketPolyfill: WebSocket as never })
  const p = new gen.Provider({
    websocketProvider: socket as never,
    name,
    document: doc,
    token,
    onAuthenticated: ({ scope }: { scope: string }) => events.authenticated.push(scope),
    onAuthenticationFailed: ({ reason }: { reason: string }) => events.failed.push(reason),
    onStateless: ({ payload }: { payload: string }) => events.stateless.push(payload),
  } as never) as unknown as InstanceType<typeof ProviderV3>
  p.attach()
  open.push(p, socket)
  return { p, doc, events }
}

const hpSynced = (o: Opened) => until('Hocuspocus provider sync', () => o.p.isSynced, on(o.p, 'synced'))
const acknowledged = (o: Opened) => until('every change acknowledged', () => o.p.unsyncedChanges === 0, on(o.p, 'unsyncedChanges'))

/** A HocuspocusProvider and a WebsocketProvider of `name`, both synced. */
async function pair(gen: (typeof generations)[number], url: string, name: string) {
  const a = hp(gen, url, name)
  const yws = provider(url, name)
  open.push(yws)
  await Promise.all([hpSynced(a), synced(yws)])
  return { a, yws }
}

/** A 3.x provider socket that reconnects after 100 ms (not its default second) and records the close codes it gets. */
function reconnectingSocket(url: string) {
  const closes: number[] = []
  const socket = new SocketV3({ url, WebSocketPolyfill: WebSocket as never, delay: 100, minDelay: 100, onClose: ({ event }) => closes.push(event.code) })
  return { socket, closes }
}

afterEach(() => {
  for (const x of open.splice(0)) x.destroy()
})

describe('HocuspocusProvider and WebsocketProvider on one document (open mode)', () => {
  let s: InProcessServer
  beforeAll(async () => {
    s = await startInProcess()
  })
  afterAll(() => s.close())

  it.each(generations)('$name converges with y-websocket both ways, every change acknowledged', async (gen) => {
    const { a, yws } = await pair(gen, s.url, `hp/converge-${gen.name.replace(/\W/g, '')}`)
    expect(a.events.authenticated).toEqual(['read-write'])
    a.doc.getMap('m').set('from-hocuspocus', 1)
    a.doc.getText('t').insert(0, 'hello ')
    yws.doc.getMap('m').set('from-y-websocket', 2)
    yws.doc.getText('t').insert(0, 'world')
    await untilDoc(a.doc, 'the y-websocket write', (d) => d.getMap('m').get('from-y-websocket') === 2)
    await untilDoc(yws.doc, 'the Hocuspocus write', (d) => d.getMap('m').get('from-hocuspocus') === 1)
    await untilDoc(a.doc, 'both texts', (d) => d.getText('t').length === 11)
    await untilDoc(yws.doc, 'both texts', (d) => d.getText('t').length === 11)
    expect(a.doc.getText('t').toString()).toBe(yws.doc.getText('t').toString())
    await acknowledged(a)
    expect(a.p.hasUnsyncedChanges).toBe(false)
  })

  it.each(generations)('$name sees y-websocket awareness and is seen by it', async (gen) => {
    const { a, yws } = await pair(gen, s.url, `hp/awareness-${gen.name.replace(/\W/g, '')}`)
    a.p.setAwarenessField('user', { name: 'from-hocuspocus' })
    yws.awareness.setLocalStateField('user', { name: 'from-y-websocket' })
    const names = (states: Map<number, Record<string, unknown>>) => [...states.values()].map((st) => (st.user as { name?: string } | undefined)?.name)
    await until(
      'the y-websocket client in Hocuspocus awareness',
      () => names(a.p.awareness!.getStates()).includes('from-y-websocket'),
      on(a.p.awareness!, 'change'),
    )
    await until(
      'the Hocuspocus client in y-websocket awareness',
      () => names(yws.awareness.getStates()).includes('from-hocuspocus'),
      on(yws.awareness, 'change'),
    )
  })

  it('providers 3.x and 4.x and y-websocket edit one document together', async () => {
    const name = 'hp/three-clients'
    const v3 = hp(generations[0], s.url, name)
    const v4 = hp(generations[1], s.url, name)
    const yws = provider(s.url, name)
    open.push(yws)
    await Promise.all([hpSynced(v3), hpSynced(v4), synced(yws)])
    v3.doc.getMap('m').set('v3', true)
    v4.doc.getMap('m').set('v4', true)
    yws.doc.getMap('m').set('yws', true)
    for (const [who, doc] of [
      ['3.x', v3.doc],
      ['4.x', v4.doc],
      ['y-websocket', yws.doc],
    ] as const)
      await untilDoc(doc, `all three writes at ${who}`, (d) => ['v3', 'v4', 'yws'].every((k) => d.getMap('m').get(k) === true))
    await Promise.all([acknowledged(v3), acknowledged(v4)])
  })

  it('still serves the editor page on GET / while the WebSocket upgrade at / is Hocuspocus', async () => {
    const res = await fetch(`${s.http}/`)
    // 200 with the page when client/web is built, 503 with a note when it is not: either way not a WebSocket answer.
    expect([200, 503]).toContain(res.status)
    expect(res.headers.get('content-type')).toMatch(/text\/(html|plain)/)
  })
})

describe('the Hocuspocus auth handshake (AUTH_SECRET)', () => {
  let s: InProcessServer
  beforeAll(async () => {
    s = await startInProcess({ AUTH_SECRET: SECRET })
  })
  afterAll(() => s.close())

  /** Resolves with the reason of the provider's authenticationFailed. */
  const deniedReason = (o: Opened) =>
    until('permission denied', () => o.events.failed.length > 0, on(o.p, 'authenticationFailed')).then(() => o.events.failed[0]!)

  it.each(generations)('$name: no token, a forged one, or a right to other documents only: permission denied with the reason', async (gen) => {
    expect(await deniedReason(hp(gen, s.url, 'doc/a', null))).toBe('unauthorized: no token (give the provider its `token` option)')
    expect(await deniedReason(hp(gen, s.url, 'doc/a', await mint({ 'doc/*': 'write' }, { secret: 'someone-elses-secret-of-32-characters' })))).toMatch(
      /^unauthorized: /,
    )
    expect(await deniedReason(hp(gen, s.url, 'doc/a', await mint({ 'doc/b': 'write' })))).toBe('forbidden: no right to "doc/a"')
    // Nothing was loaded for them.
    expect(s.server.registry.peek('doc/a')).toBeUndefined()
  })

  it.each(generations)('$name with a read-only token: told readonly, its writes reach nobody and stay unacknowledged', async (gen) => {
    const name = `doc/read-only-${gen.name.replace(/\W/g, '')}`
    const writer = provider(s.url, name, new Y.Doc(), { token: await mint({ [name]: 'write' }) })
    open.push(writer)
    await synced(writer)
    writer.doc.getMap('m').set('by-writer', 1)
    const viewer = hp(gen, s.url, name, await mint({ [name]: 'read' }))
    await hpSynced(viewer)
    expect(viewer.events.authenticated).toEqual(['readonly'])
    await untilDoc(viewer.doc, 'the writer’s edit', (d) => d.getMap('m').get('by-writer') === 1)
    // Its sync step 2 held nothing new: acknowledged.
    await acknowledged(viewer)
    viewer.doc.getMap('m').set('by-viewer', 1)
    await until('the viewer’s change counted', () => viewer.p.unsyncedChanges > 0, on(viewer.p, 'unsyncedChanges'))
    // A later write of the writer reaches the viewer, and the viewer's write never reached the writer.
    writer.doc.getMap('m').set('after', 1)
    await untilDoc(viewer.doc, 'the writer’s later edit', (d) => d.getMap('m').get('after') === 1)
    expect(writer.doc.getMap('m').has('by-viewer')).toBe(false)
    expect(s.server.registry.peek(name)!.doc.getMap('m').has('by-viewer')).toBe(false)
    expect(viewer.p.unsyncedChanges).toBeGreaterThan(0)
  })

  it('a token in the auth message opens only what it grants; two documents, two answers, one socket', async () => {
    const token = await mint({ 'doc/yes': 'write' })
    const socket = new SocketV3({ url: s.url, WebSocketPolyfill: WebSocket as never })
    open.push(socket)
    const events = { yes: [] as string[], no: [] as string[] }
    const yes = new ProviderV3({ websocketProvider: socket, name: 'doc/yes', token, onAuthenticated: ({ scope }) => events.yes.push(scope) })
    const no = new ProviderV3({ websocketProvider: socket, name: 'doc/no', token, onAuthenticationFailed: ({ reason }) => events.no.push(reason) })
    open.push(yes, no)
    yes.attach()
    no.attach()
    await until('the granted document synced', () => yes.isSynced, on(yes, 'synced'))
    await until('the other denied', () => events.no.length > 0, on(no, 'authenticationFailed'))
    expect(events).toEqual({ yes: ['read-write'], no: ['forbidden: no right to "doc/no"'] })
    yes.document.getMap('m').set('k', 1)
    await until('acknowledged', () => yes.unsyncedChanges === 0, on(yes, 'unsyncedChanges'))
  })
  it('a revoked token closes its Hocuspocus socket with 4541, and the same token is denied after the reconnect', async () => {
    const name = 'doc/revoked'
    const victimJti = `victim-${process.pid}-${Date.now()}`
    const token = await mintToken({ secret: SECRET, sub: 'victim', jti: victimJti, docs: { [name]: 'write' }, ttlS: 600 })
    const admin = await mintToken({ secret: SECRET, sub: 'root', jti: 'root-1', docs: {}, ttlS: 600, admin: true })
    const { socket, closes } = reconnectingSocket(s.url)
    const failed: string[] = []
    const p = new ProviderV3({ websocketProvider: socket, name, token, onAuthenticationFailed: ({ reason }) => failed.push(reason) })
    open.push(p, socket)
    p.attach()
    await until('sync', () => p.isSynced, on(p, 'synced'))
    const res = await fetch(`${s.http}/api/admin/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti: victimJti }),
    })
    expect(res.status).toBe(201)
    await until('the revocation close', () => closes.includes(4541), on(socket, 'close'))
    await until('denied after the reconnect', () => failed.length > 0, on(p, 'authenticationFailed'))
    expect(failed[0]).toMatch(/^unauthorized: .*revoked/)
  })
})

describe('an expiring token over the Hocuspocus framing', () => {
  let s: InProcessServer
  beforeAll(async () => {
    s = await startInProcess({ AUTH_SECRET: SECRET, AUTH_CLOCK_SKEW_S: 0 })
  })
  afterAll(() => s.close())

  it('closes the socket with 4540 at expiry; the provider reconnects, asks its token function again, and goes on syncing', async () => {
    const name = 'doc/expiring'
    let asked = 0
    const { socket, closes } = reconnectingSocket(s.url)
    const p = new ProviderV3({
      websocketProvider: socket,
      name,
      token: async () => {
        asked++
        return mint({ [name]: 'write' }, { ttlS: 2 })
      },
    })
    open.push(p, socket)
    p.attach()
    await until('first sync', () => p.isSynced, on(p, 'synced'))
    await until('the expiry close', () => closes.includes(4540), on(socket, 'close'), 10_000)
    await until('a second token asked for', () => asked >= 2, on(p, 'authenticated'), 10_000)
    p.document.getMap('m').set('after-renewal', 1)
    const reader = provider(s.url, name, new Y.Doc(), { token: await mint({ [name]: 'read' }) })
    open.push(reader)
    await untilDoc(reader.doc, 'the write made with the renewed token', (d) => d.getMap('m').get('after-renewal') === 1)
  })
})

describe('quotas per document on one Hocuspocus socket', () => {
  let s: InProcessServer
  beforeAll(async () => {
    s = await startInProcess({ MAX_AWARENESS_PER_S: 5, AWARENESS_BURST: 5 })
  })
  afterAll(() => s.close())

  it('a document over its awareness rate is closed alone (reason 4429); its neighbour on the socket keeps its own budget and goes on', async () => {
    const socket = new SocketV3({ url: s.url, WebSocketPolyfill: WebSocket as never })
    const reasons: string[] = []
    const noisy = new ProviderV3({ websocketProvider: socket, name: 'quota/noisy', onClose: ({ event }) => reasons.push(event.reason) })
    const quiet = new ProviderV3({ websocketProvider: socket, name: 'quota/quiet' })
    open.push(noisy, quiet, socket)
    noisy.attach()
    quiet.attach()
    await Promise.all([until('noisy sync', () => noisy.isSynced, on(noisy, 'synced')), until('quiet sync', () => quiet.isSynced, on(quiet, 'synced'))])
    for (let i = 0; i < 50; i++) noisy.setAwarenessField('pose', i)
    await until('the noisy document closed', () => reasons.length > 0, on(noisy, 'close'))
    expect(reasons[0]).toMatch(/^4429 /)
    // The quiet one spends its own budget: it may still send presence and edits, on the same socket.
    quiet.setAwarenessField('user', 'still here')
    quiet.document.getMap('m').set('k', 1)
    await until('the quiet edit acknowledged', () => quiet.unsyncedChanges === 0, on(quiet, 'unsyncedChanges'))
    const reader = provider(s.url, 'quota/quiet')
    open.push(reader)
    await untilDoc(reader.doc, 'the quiet edit', (d) => d.getMap('m').get('k') === 1)
    await until('the quiet presence', () => [...reader.awareness.getStates().values()].some((st) => st.user === 'still here'), on(reader.awareness, 'change'))
  })
})
