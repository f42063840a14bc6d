/**
 * The SDK's connection against real server processes over real sockets: convergence,
 * pending changes while a server is down, refusals that stop, token refresh on expiry, and
 * failing over to another node of a 2-node cluster on a real redis-server without losing
 * an edit.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { serverHas, until } from '../../load-tests/harness/clients.ts'
import { freePort, hasRedisServer, startRedis, stopAllRedis } from '../../load-tests/harness/redis.ts'
import { killAllServers, startServerProcess, tempDir } from '../../load-tests/harness/server-process.ts'
import { mintToken } from '../../server/auth/mint.ts'
import { CloseCodes } from '../../shared/protocol/close-codes.ts'
import { MessageType } from '../../shared/protocol/messages.ts'
import { connectSite, type ConnectSiteOptions, type Site, SiteRefused } from './index.ts'

const SECRET = 'sdk-integration-secret-of-32-characters'
const sites: Site[] = []

function site(urls: string | string[], doc: string, extra: Partial<ConnectSiteOptions> = {}): Site {
  const s = connectSite({ urls, doc, WebSocket, backoff: { baseMs: 50, maxMs: 500 }, ...extra })
  sites.push(s)
  return s
}

const map = (s: Site) => s.doc.getMap<number>('m')

/** Resolves when `check` holds for `s.status`, re-checked on every status change. */
const untilStatus = (s: Site, what: string, check: (st: Site['status']) => boolean, ms = 15_000) =>
  until(
    what,
    () => check(s.status),
    (wake) => s.onStatus(wake),
    ms,
  )

afterEach(() => {
  for (const s of sites.splice(0)) s.close()
})
afterAll(() => {
  killAllServers()
  stopAllRedis()
})

describe('connectSite', () => {
  it('two sites converge', async () => {
    const server = await startServerProcess()
    const a = site(server.wsUrl, 'doc/converge')
    const b = site(server.wsUrl, 'doc/converge')
    await Promise.all([a.whenSynced(), b.whenSynced()])
    map(a).set('x', 1)
    map(b).set('y', 2)
    await Promise.all([a.whenConfirmed(), b.whenConfirmed()])
    await serverHas(server.wsUrl, 'doc/converge', (d) => d.getMap('m').get('x') === 1 && d.getMap('m').get('y') === 2)
    await new Promise<void>((resolve) => {
      const check = () => map(a).get('y') === 2 && map(b).get('x') === 1 && resolve()
      check()
      a.doc.on('update', check)
      b.doc.on('update', check)
    })
    expect(map(a).toJSON()).toEqual(map(b).toJSON())
  })

  it('counts a change pending until the server has it, keeps it pending while the server is down, and delivers it when it returns', async () => {
    const port = await freePort()
    const dataDir = await tempDir()
    let server = await startServerProcess({ PORT: port }, dataDir)
    const a = site(server.wsUrl, 'doc/pending')
    await a.whenSynced()
    expect(a.pendingChanges).toBe(0)
    map(a).set('online', 1)
    expect(a.pendingChanges).toBe(1)
    await a.whenConfirmed()
    expect(a.pendingChanges).toBe(0)

    await server.kill('SIGTERM')
    await untilStatus(a, 'offline', (s) => s.state === 'offline')
    map(a).set('offline', 2)
    map(a).delete('online') // a deletion writes no struct: only the server's delete set confirms it
    expect(a.pendingChanges).toBe(2)
    await new Promise((r) => setTimeout(r, 300))
    expect(a.pendingChanges).toBe(2)

    server = await startServerProcess({ PORT: port }, dataDir)
    await a.whenSynced()
    await a.whenConfirmed()
    expect(a.pendingChanges).toBe(0)
    await serverHas(server.wsUrl, 'doc/pending', (d) => d.getMap('m').get('offline') === 2 && !d.getMap('m').has('online'))
  })

  it('surfaces a refusal as SiteRefused and stops retrying', async () => {
    const server = await startServerProcess({ AUTH_SECRET: SECRET })
    const token = await mintToken({ secret: SECRET, sub: 'reader-of-b', docs: { 'doc/b': 'write' }, ttlS: 600 })
    let sockets = 0
    class Counting extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols)
        sockets++
      }
    }
    const a = site(server.wsUrl, 'doc/a', { token, WebSocket: Counting })
    const err = await a.whenSynced().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SiteRefused)
    expect((err as SiteRefused).code).toBe(CloseCodes.FORBIDDEN.code)
    expect((err as SiteRefused).codeName).toBe('FORBIDDEN')
    expect(a.status.state).toBe('refused')
    await new Promise((r) => setTimeout(r, 500)) // ten backoff periods: a retrying client would have tried again
    expect(sockets).toBe(1)
  })

  it('asks getToken for a new token when the server says the token expired, and carries on', async () => {
    const server = await startServerProcess({ AUTH_SECRET: SECRET })
    let calls = 0
    const getToken = () => mintToken({ secret: SECRET, sub: 'bot', docs: { 'doc/*': 'write' }, ttlS: ++calls === 1 ? 2 : 600 })
    const a = site(server.wsUrl, 'doc/refresh', { getToken })
    await a.whenSynced()
    map(a).set('before', 1)
    await a.whenConfirmed()
    await untilStatus(a, 'a second token', () => calls >= 2 && a.status.state === 'synced')
    map(a).set('after', 2)
    await a.whenConfirmed()
    const reader = await mintToken({ secret: SECRET, sub: 'reader', docs: { '**': 'read' }, ttlS: 600 })
    await serverHas(`${server.wsUrl}`, 'doc/refresh', (d) => d.getMap('m').get('after') === 2, 10_000, { token: reader })
    expect(calls).toBe(2)
  })

  it('gives up on a node that accepts the connection and never answers, and syncs with the next', async () => {
    const server = await startServerProcess()
    // A black hole: TCP accepts, nothing ever comes back (not even the WebSocket handshake).
    const sockets: Socket[] = []
    const hole = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve))
    const holeUrl = `ws://127.0.0.1:${(hole.address() as AddressInfo).port}`
    try {
      const a = site([holeUrl, server.wsUrl], 'doc/hung', { connectTimeoutMs: 300 })
      await a.whenSynced()
      expect(a.status.url).toBe(server.wsUrl)
      expect(sockets.length).toBe(1)
    } finally {
      for (const socket of sockets) socket.destroy()
      hole.close()
    }
  })

  it('refuses instead of looping when getToken hands back the token the server refused', async () => {
    const server = await startServerProcess({ AUTH_SECRET: SECRET })
    const stale = await mintToken({ secret: SECRET, sub: 'bot', docs: { 'doc/*': 'write' }, ttlS: 600, now: Math.floor(Date.now() / 1000) - 3600 })
    let calls = 0
    const a = site(server.wsUrl, 'doc/stale', {
      getToken: () => {
        calls++
        return stale
      },
    })
    const err = await a.whenSynced().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SiteRefused)
    expect((err as SiteRefused).code).toBe(CloseCodes.TOKEN_EXPIRED.code)
    expect(calls).toBe(2) // the first token, and one refresh that came back the same
  })

  it('sends only its own presence, never an echo of the others’ (the provider alone would)', async () => {
    const server = await startServerProcess()
    let awarenessSent = 0
    class Counting extends WebSocket {
      override send(data: Uint8Array, ...rest: never[]): void {
        if (data[0] === MessageType.Awareness) awarenessSent++
        super.send(data, ...rest)
      }
    }
    const watcher = site(server.wsUrl, 'doc/presence', { WebSocket: Counting })
    await watcher.whenSynced()
    watcher.presence.setUser({ name: 'watcher', color: '#000000' })
    const busy = site(server.wsUrl, 'doc/presence')
    await busy.whenSynced()
    let seen = 0
    watcher.awareness.on('change', () => seen++)
    for (let i = 0; i < 200; i++) {
      busy.presence.setCursor({ floorId: 'f1', x: i, y: 0 })
      await new Promise((r) => setTimeout(r, 5)) // paced under the server's awareness quota
    }
    await until(
      'the last cursor at the watcher',
      () => watcher.presence.others().some((p) => p.cursor?.x === 199),
      (wake) => watcher.presence.onChange(wake),
    )
    expect(seen).toBeGreaterThan(20)
    expect(awarenessSent).toBeLessThanOrEqual(3) // its own state (and a renewal), nothing per received change
  })

  it.runIf(hasRedisServer())('moves to the second node when the first is killed, losing no edit', async () => {
    const redis = await startRedis()
    const env = { REDIS_URL: redis.url, CLUSTER_HEARTBEAT_MS: 200, CLUSTER_NODE_TIMEOUT_MS: 1500 }
    const [n1, n2] = await Promise.all([startServerProcess({ ...env, NODE_ID: 'one' }), startServerProcess({ ...env, NODE_ID: 'two' })])
    const writer = site([n1!.wsUrl, n2!.wsUrl], 'doc/failover')
    await writer.whenSynced()
    expect(writer.status.url).toBe(n1!.wsUrl)
    let k = 0
    const wrote: string[] = []
    const timer = setInterval(() => {
      const key = `k${k++}`
      map(writer).set(key, k)
      wrote.push(key)
    }, 20)
    await new Promise((r) => setTimeout(r, 300))
    await n1!.kill('SIGKILL')
    await untilStatus(writer, 'synced with node two', (s) => s.state === 'synced' && s.url === n2!.wsUrl)
    await new Promise((r) => setTimeout(r, 300))
    clearInterval(timer)
    await writer.whenConfirmed()
    await serverHas(n2!.wsUrl, 'doc/failover', (d) => wrote.every((key) => d.getMap('m').has(key)), 15_000)
    expect(wrote.length).toBeGreaterThan(10)
  })
})
