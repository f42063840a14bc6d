/**
 * Revocation: an admin revokes a token id or a subject on one node; every node closes the
 * matching sessions within a second (through the cluster bus, real redis-server), refuses
 * the token from then on, and still does after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { closeCode, closeCodes, eventually, provider, rawClient, synced } from '../../../load-tests/harness/clients.ts'
import { type RedisServer, startRedis, stopAllRedis } from '../../../load-tests/harness/redis.ts'
import { killAllServers, type ServerProcess, startServerProcess, tempDir } from '../../../load-tests/harness/server-process.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { mintToken } from '../../auth/mint.ts'

const SECRET = 'revocation-secret-of-32-characters-or-more'
const token = (sub: string, jti: string, o: { admin?: boolean } = {}) => mintToken({ secret: SECRET, sub, jti, docs: { 'doc/*': 'write' }, ttlS: 600, ...o })

async function revoke(server: ServerProcess, body: object, admin: string): Promise<Response> {
  return fetch(`${server.httpUrl}/api/admin/revocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function refusedWith(server: ServerProcess, doc: string, t: string): Promise<number> {
  return closeCode(await rawClient(`${server.wsUrl}/${doc}?token=${encodeURIComponent(t)}`), 3000) // 0: accepted
}

describe('revocation across a cluster', () => {
  let redis: RedisServer
  let a: ServerProcess
  let b: ServerProcess
  let dirB: string
  beforeAll(async () => {
    redis = await startRedis()
    dirB = await tempDir()
    const env = { AUTH_SECRET: SECRET, REDIS_URL: redis.url, CLUSTER_HEARTBEAT_MS: 100 }
    ;[a, b] = await Promise.all([startServerProcess(env), startServerProcess(env, dirB)])
  })
  afterAll(() => {
    killAllServers()
    stopAllRedis()
  })

  it('only an admin may revoke', async () => {
    expect((await revoke(a, { jti: 'x' }, await token('eve', 'e1'))).status).toBe(403)
    expect((await revoke(a, { jti: 'x', sub: 'y' }, await token('root', 'r0', { admin: true }))).status).toBe(400)
  })

  it('a token id revoked on node a closes its session on node b within a second (4541); the token is refused after, other tokens are not', async () => {
    const victim = await token('ada', 'ada-1')
    const bystander = await token('ada', 'ada-2')
    const p = provider(b.wsUrl, 'doc/r', new Y.Doc(), { token: victim })
    const q = provider(b.wsUrl, 'doc/r', new Y.Doc(), { token: bystander })
    const codes = closeCodes(p)
    const qCodes = closeCodes(q)
    await Promise.all([synced(p), synced(q)])
    const started = Date.now()
    const res = await revoke(a, { jti: 'ada-1' }, await token('root', 'r1', { admin: true }))
    expect(res.status).toBe(201)
    await eventually(
      'the session on b closed',
      async () => codes.length,
      (n) => n >= 1,
      5000,
    )
    expect(Date.now() - started).toBeLessThan(1500)
    expect(codes[0]).toBe(CloseCodes.TOKEN_REVOKED.code)
    p.destroy()
    expect(await refusedWith(b, 'doc/r', victim)).toBe(CloseCodes.UNAUTHORIZED.code)
    expect(await refusedWith(a, 'doc/r', victim)).toBe(CloseCodes.UNAUTHORIZED.code)
    expect((await fetch(`${a.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${victim}` } })).status).toBe(401)
    expect(qCodes).toEqual([])
    expect(q.wsconnected).toBe(true)
    q.destroy()
  })

  it("a subject's revocation covers its tokens issued before it, not a new login after it", async () => {
    const before = await token('bob', 'bob-1')
    const p = provider(a.wsUrl, 'doc/s', new Y.Doc(), { token: before })
    const codes = closeCodes(p)
    await synced(p)
    expect((await revoke(b, { sub: 'bob' }, await token('root', 'r2', { admin: true }))).status).toBe(201)
    await eventually(
      'bob closed on a',
      async () => codes.length,
      (n) => n >= 1,
      5000,
    )
    expect(codes[0]).toBe(CloseCodes.TOKEN_REVOKED.code)
    p.destroy()
    await new Promise((r) => setTimeout(r, 1100)) // real time: a token issued in a later second than the revocation (iat has 1 s resolution)
    const after = await token('bob', 'bob-2')
    const again = provider(a.wsUrl, 'doc/s', new Y.Doc(), { token: after })
    await synced(again)
    again.destroy()
  })

  it('survives a restart: from Redis, and from DATA_DIR alone', async () => {
    const victim = await token('ada', 'ada-1')
    await b.kill('SIGKILL')
    // Back without Redis: only its own DATA_DIR remembers.
    const alone = await startServerProcess({ AUTH_SECRET: SECRET }, dirB)
    expect(await refusedWith(alone, 'doc/r', victim)).toBe(CloseCodes.UNAUTHORIZED.code)
    // A new node that never heard the announcement reads it from Redis.
    const fresh = await startServerProcess({ AUTH_SECRET: SECRET, REDIS_URL: redis.url })
    // It reads the list once Redis is reachable, a moment after it listens.
    await eventually(
      'the fresh node refusing the token',
      () => refusedWith(fresh, 'doc/r', victim),
      (code) => code === CloseCodes.UNAUTHORIZED.code,
      15_000,
    )
  })
})
