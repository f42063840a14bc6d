/**
 * Access control against a real server process with AUTH_SECRET, over real sockets with
 * unchanged WebsocketProviders and over REST: who gets in, what a read-only session can and
 * cannot do, and that a session ends when its token expires.
 */
import { generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { closeCode, closeCodes, eventually, provider, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, type ServerProcess, startServerProcess } from '../../../load-tests/harness/server-process.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeSyncStep1 } from '../../../shared/protocol/messages.ts'
import { runLoad } from '../../../load-tests/cli/atrium-load.ts'
import { mintToken } from '../../auth/mint.ts'

const SECRET = 'integration-secret-of-32-characters-at-least'
const mint = (docs: Record<string, 'none' | 'read' | 'write'>, o: { ttlS?: number; now?: number; secret?: string } = {}) =>
  mintToken({ secret: o.secret ?? SECRET, sub: 'tester', docs, ttlS: o.ttlS ?? 600, ...(o.now ? { now: o.now } : {}) })

describe('access control', () => {
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServerProcess({ AUTH_SECRET: SECRET })
  })
  afterAll(() => killAllServers())

  /** The close code a socket to `doc` with `token` gets (a refused upgrade opens, then closes with its code). */
  async function refusedWith(doc: string, token: string | null): Promise<number> {
    return closeCode(await rawClient(`${server.wsUrl}/${doc}${token === null ? '' : `?token=${encodeURIComponent(token)}`}`))
  }

  it('refuses sockets with no token, a malformed or forged one, an expired one, or a right to another document only', async () => {
    expect(await refusedWith('doc/a', null)).toBe(CloseCodes.UNAUTHORIZED.code)
    expect(await refusedWith('doc/a', 'a.b.c')).toBe(CloseCodes.UNAUTHORIZED.code)
    expect(await refusedWith('doc/a', await mint({ 'doc/*': 'write' }, { secret: 'someone-elses-secret-of-32-characters' }))).toBe(CloseCodes.UNAUTHORIZED.code)
    expect(await refusedWith('doc/a', await mint({ 'doc/*': 'write' }, { now: Math.floor(Date.now() / 1000) - 3600 }))).toBe(CloseCodes.TOKEN_EXPIRED.code)
    expect(await refusedWith('doc/a', await mint({ 'doc/b': 'write' }))).toBe(CloseCodes.FORBIDDEN.code)
    expect(await metric(server.httpUrl, 'atrium_auth_refused_total', { reason: 'forbidden' })).toBeGreaterThanOrEqual(1)
    // None of them created the document.
    expect((await fetch(`${server.httpUrl}/api/documents/doc%2Fa`, { headers: { authorization: `Bearer ${await mint({ '**': 'read' })}` } })).status).toBe(404)
  })

  it('refuses pages of other origins (a browser on an intranet or localhost); same-host pages and Node clients get in', async () => {
    const token = encodeURIComponent(await mint({ 'doc/*': 'write' }))
    const host = new URL(server.httpUrl).host
    const evil = await rawClient(`${server.wsUrl}/doc/o?token=${token}`, { origin: 'https://evil.example' })
    expect(await evil.closed).toMatchObject({ code: CloseCodes.FORBIDDEN.code })
    expect(await metric(server.httpUrl, 'atrium_auth_refused_total', { reason: 'origin' })).toBeGreaterThanOrEqual(1)
    const own = await rawClient(`${server.wsUrl}/doc/o?token=${token}`, { origin: `http://${host}` })
    own.send(encodeSyncStep1(new Uint8Array([0])))
    // Fails at once, with its code, if the server closes it instead of answering.
    const closedEarly = own.closed.then((c) => Promise.reject(new Error(`the same-host page was closed: ${c.code} ${c.reason}`)))
    closedEarly.catch(() => {})
    await Promise.race([
      eventually(
        'an answer to the same-host page',
        async () => own.received.length,
        (n) => n >= 1,
      ),
      closedEarly,
    ])
    own.ws.close()
  })

  it('a reader opening a name that does not exist and writing to it creates nothing', async () => {
    const ghost = provider(server.wsUrl, 'doc/ghost', new Y.Doc(), { token: await mint({ 'doc/*': 'read' }) })
    await synced(ghost)
    ghost.doc.getMap('m').set('k', 'v')
    await eventually(
      'the update ignored',
      () => metric(server.httpUrl, 'atrium_updates_ignored_total', { reason: 'read_only' }),
      (n) => n >= 1,
    )
    ghost.destroy()
    const admin = await mint({ '**': 'read' })
    const listed = (await (await fetch(`${server.httpUrl}/api/documents?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
      documents: string[]
    }
    expect(listed.documents).not.toContain('doc/ghost')
    // It was only ever in memory: once unloaded (DOC_UNLOAD_GRACE_MS 1 s here) there is nothing to read.
    await eventually(
      'the empty document gone',
      async () => (await fetch(`${server.httpUrl}/api/documents/doc%2Fghost`, { headers: { authorization: `Bearer ${admin}` } })).status,
      (s) => s === 404,
      5000,
    )
  })

  it('an unchanged y-websocket provider with a refused token stops: no reconnect loop', async () => {
    const p = provider(server.wsUrl, 'doc/a', new Y.Doc(), { token: await mint({ 'doc/b': 'write' }) })
    const codes = closeCodes(p)
    await eventually(
      'the refusal',
      async () => codes.length,
      (n) => n >= 1,
    )
    await eventually(
      'the provider to give up',
      async () => p.shouldConnect,
      (should) => !should,
      5000,
    )
    expect(codes).toEqual([CloseCodes.FORBIDDEN.code])
    p.destroy()
  })

  it('a read-only session receives everything, and its own writes reach nobody and are not stored; it is not closed', async () => {
    const writer = provider(server.wsUrl, 'site/ro', new Y.Doc(), { token: await mint({ 'site/*': 'write' }) })
    const viewer = provider(server.wsUrl, 'site/ro', new Y.Doc(), { token: await mint({ 'site/*': 'read' }) })
    const viewerCloses = closeCodes(viewer)
    await Promise.all([synced(writer), synced(viewer)])
    writer.doc.getMap('anchors').set('a1', { pose: { p: [1, 2, 3], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 1, updatedBy: 'w' })
    await untilDoc(viewer.doc, 'the writer edit on the viewer', (d) => d.getMap('anchors').has('a1'))
    viewer.doc.getMap('anchors').set('a2', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'sneaky', confidence: 1, updatedBy: 'v' })
    await eventually(
      'the viewer update ignored',
      () => metric(server.httpUrl, 'atrium_updates_ignored_total', { reason: 'read_only' }),
      (n) => n >= 1,
    )
    // A later writer edit arrives after the ignored one: had it been applied, it would be here by now.
    writer.doc.getMap('anchors').set('a3', { pose: { p: [0, 0, 1], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'marker', confidence: 1, updatedBy: 'w' })
    const check = provider(server.wsUrl, 'site/ro', new Y.Doc(), { token: await mint({ 'site/*': 'read' }) })
    await synced(check)
    await untilDoc(check.doc, 'the marker', (d) => d.getMap('anchors').has('a3'))
    expect(check.doc.getMap('anchors').has('a2')).toBe(false)
    expect(writer.doc.getMap('anchors').has('a2')).toBe(false)
    expect(viewerCloses).toEqual([])
    expect(viewer.wsconnected).toBe(true)
    for (const p of [writer, viewer, check]) p.destroy()
  })

  it('closes a session within a second of its token expiring, with the code that asks for a new token', async () => {
    const p = provider(server.wsUrl, 'doc/short', new Y.Doc(), { token: await mint({ 'doc/*': 'write' }, { ttlS: 2 }) })
    const codes = closeCodes(p)
    await synced(p)
    const exp = Math.floor(Date.now() / 1000) + 2
    await eventually(
      'the expiry close',
      async () => codes.length,
      (n) => n >= 1,
      5000,
    )
    expect(codes[0]).toBe(CloseCodes.TOKEN_EXPIRED.code)
    expect(Date.now()).toBeLessThan((exp + 1) * 1000 + 500)
    p.destroy()
  })

  it('atrium-load drives a server with access control when given a token, and is refused without', async () => {
    const plan = {
      url: server.wsUrl,
      protocol: 'yws' as const,
      docs: 1,
      editorsPerDoc: 3,
      rate: 5,
      awarenessHz: 0,
      payload: 0,
      durationS: 1,
      docPrefix: 'load/',
      workers: 1,
      replicasPerDoc: 1,
    }
    const withToken = await runLoad({ ...plan, token: await mint({ 'load/*': 'write' }) })
    expect(withToken.lossPct).toBe(0)
    expect(withToken.deliveriesReceived).toBeGreaterThan(0)
    const without = await runLoad({ ...plan, docPrefix: 'load2/' })
    expect(without.editors).toBe(0) // none connected: every one was refused
  })

  it('REST: 401 without a token, 403 without the right, reads with read, snapshots need write, listings show only what may be read', async () => {
    const writerToken = await mint({ 'site/*': 'write' })
    const w = provider(server.wsUrl, 'site/rest', new Y.Doc(), { token: writerToken })
    await synced(w)
    w.doc.getMap('anchors').set('a', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'x', confidence: 1, updatedBy: 'w' })
    const url = `${server.httpUrl}/api/documents/${encodeURIComponent('site/rest')}`
    const get = async (u: string, token?: string) => fetch(u, token ? { headers: { authorization: `Bearer ${token}` } } : {})
    const none = await get(url)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await none.json()).error).toBe('unauthorized')
    expect((await get(url, await mint({ 'doc/*': 'write' }))).status).toBe(403)
    const reader = await mint({ 'site/*': 'read' })
    await eventually(
      'the document readable',
      async () => (await get(url, reader)).status,
      (s) => s === 200,
    )
    const post = (token: string) =>
      fetch(`${url}/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"label":"v1"}' })
    expect((await post(reader)).status).toBe(403)
    expect((await post(writerToken)).status).toBe(201)
    const list = async (token: string) => ((await (await get(`${server.httpUrl}/api/documents`, token)).json()) as { documents: string[] }).documents
    await eventually(
      'site/rest stored and listed',
      () => list(reader),
      (names) => names.includes('site/rest'),
    )
    expect(await list(await mint({ 'doc/*': 'read' }))).not.toContain('site/rest')
    expect((await get(`${server.httpUrl}/healthz`)).status).toBe(200)
    w.destroy()
  })
})

describe('secure by default', () => {
  it('refuses to start on a non-loopback interface without auth, with one line saying what to set', async () => {
    await expect(startServerProcess({ HOST: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without access control: set AUTH_SECRET/)
  })

  it('starts on any interface with AUTH=none, explicitly', async () => {
    const s = await startServerProcess({ HOST: '0.0.0.0', AUTH: 'none' })
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200)
  })

  it('starts with an unreachable JWKS URL, says so in one line, and refuses tokens with the retryable 4531 until it answers', async () => {
    const s = await startServerProcess({ AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' })
    await eventually(
      'the line about the key set',
      async () => s.logs.some((l) => String(l.msg).startsWith('AUTH_JWKS_URL cannot be fetched')),
      (seen) => seen,
    )
    const { privateKey } = await generateKeyPair('RS256')
    const rs256 = await new SignJWT({ docs: { 'doc/*': 'write' } }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('1h').sign(privateKey)
    const c = await rawClient(`${s.wsUrl}/doc/j?token=${encodeURIComponent(rs256)}`)
    expect((await c.closed).code).toBe(CloseCodes.AUTH_UNAVAILABLE.code)
    const rest = await fetch(`${s.httpUrl}/api/documents`, { headers: { authorization: 'Bearer x.y.z' } })
    expect([rest.status, rest.headers.get('retry-after')]).toEqual([401, null]) // a malformed token is refused before any key is needed
  })

  it('refuses a secret shorter than 32 characters without printing it', async () => {
    const err = await startServerProcess({ AUTH_SECRET: 'short-secret' }).catch((e: Error) => e)
    expect(String(err)).toMatch(/AUTH_SECRET is \(12 characters\): must be at least 32/)
    expect(String(err)).not.toContain('short-secret')
  })
})
