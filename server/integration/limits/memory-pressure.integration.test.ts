/**
 * A node over its memory budget (MEMORY_BUDGET_MB set below what a server process uses)
 * refuses to load more documents with a retryable code — WebSocket 4534, REST 503 with
 * Retry-After — and goes on serving the documents it has loaded; it does not die.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { closeCode, provider, rawClient, serverHas, synced } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, type ServerProcess, startServerProcess, tempDir } from '../../../load-tests/harness/server-process.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeSyncStep1 } from '../../../shared/protocol/messages.ts'

describe('memory pressure', () => {
  let server: ServerProcess
  beforeAll(async () => {
    // A stored document, written by a node with no pressure.
    const dir = await tempDir()
    const first = await startServerProcess({}, dir)
    const writer = provider(first.wsUrl, 'doc/stored')
    await synced(writer)
    writer.doc.getMap('m').set('k', 1)
    await serverHas(first.wsUrl, 'doc/stored', (d) => d.getMap('m').get('k') === 1)
    writer.destroy()
    await first.kill('SIGTERM') // a clean shutdown: everything durable
    // 64 MiB: a Node process with uWS and LMDB uses more before its first document.
    server = await startServerProcess({ MEMORY_BUDGET_MB: 64 }, dir)
  })
  afterAll(() => killAllServers())

  it('refuses a new document with 4534 over WebSocket and 503 over REST, counted, and the node stays up', async () => {
    const client = await rawClient(`${server.wsUrl}/doc/pressure`)
    client.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    expect(await closeCode(client)).toBe(CloseCodes.MEMORY_PRESSURE.code)
    expect(CloseCodes.MEMORY_PRESSURE.retry).toBe(true)
    const res = await fetch(`${server.httpUrl}/api/documents/doc%2Fstored`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toMatchObject({ error: 'busy', message: expect.stringMatching(/memory budget of 64 MiB/) })
    expect(await metric(server.httpUrl, 'atrium_loads_refused_for_memory_total')).toBeGreaterThanOrEqual(1)
    expect(await metric(server.httpUrl, 'atrium_memory_budget_bytes')).toBe(64 * 2 ** 20)
    expect(server.proc.exitCode).toBeNull()
    expect(server.logs.some((l) => l.msg === 'over the memory budget: refusing new documents (4534)')).toBe(true)
  })
})
