/**
 * Documents poisoned before admission existed (here: imported with the docs CLI) must not stall
 * the node that loads them. A log that only stalls in the order stored loads merged; one that
 * stalls even merged is quarantined (4523, 503 over REST, a metric, `docs stats` says so) while
 * every other document on the node is served, until `docs repair` fixes it.
 */
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { chainBomb, conflictBomb } from '../../../load-tests/harness/craft.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { run } from '../../cli/docs.ts'
import { eventually, provider, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, tempDir } from '../../../load-tests/harness/server-process.ts'

async function docs(dataDir: string, ...argv: string[]): Promise<string[]> {
  const lines: string[] = []
  await run(argv, { DATA_DIR: dataDir }, (line) => lines.push(line))
  return lines
}

describe('poisoned documents in storage', () => {
  afterAll(() => killAllServers())

  it('load merged when that is cheap, are quarantined when not, and are repaired by docs repair; the rest of the node is unaffected', async () => {
    const dataDir = await tempDir()
    const file = (name: string, bytes: Uint8Array) => {
      const path = join(dataDir, `${name}.yjs`)
      writeFileSync(path, bytes)
      return path
    }
    // Two imports, each cheap alone: in this order Yjs would scan 4,000 × 4,000 items.
    await docs(dataDir, 'import', 'doc/merged', file('a', conflictBomb(4000, 1000)))
    await docs(dataDir, 'import', 'doc/merged', file('b', conflictBomb(4000, 100_000)))
    // Quadratic in any order: the import itself refuses it without --force.
    await expect(docs(dataDir, 'import', 'doc/poisoned', file('c', chainBomb(3000, 3000)))).rejects.toThrow(/would stall/)
    await docs(dataDir, 'import', 'doc/poisoned', file('c', chainBomb(3000, 3000)), '--force')
    expect(JSON.parse((await docs(dataDir, 'stats', 'doc/poisoned')).join('\n')).quarantined).toMatch(/concurrent-insert scans/)
    expect(JSON.parse((await docs(dataDir, 'stats', 'doc/merged')).join('\n'))).toMatchObject({ quarantined: null, loadsOnlyMerged: true })

    let server = await startServerProcess({}, dataDir)
    const bystander = provider(server.wsUrl, 'doc/fine')
    await synced(bystander)
    const keys: string[] = []
    const editing = setInterval(() => {
      keys.push(`k${keys.length}`)
      bystander.doc.getMap('m').set(keys[keys.length - 1]!, 1)
    }, 5)

    const merged = provider(server.wsUrl, 'doc/merged')
    await synced(merged)
    await untilDoc(merged.doc, 'the merged log', (d) => d.getText('t').length === 8000)
    merged.destroy()
    // The log line comes through the server's stdout, which may trail the socket.
    await eventually(
      'the merged-load log line',
      async () => server.logs.some((l) => l.msg === 'document loads only with its log merged; compacting it'),
      (seen) => seen,
    )

    const victim = await rawClient(`${server.wsUrl}/doc/poisoned`)
    const closed = await victim.closed
    expect(closed.code).toBe(CloseCodes.DOCUMENT_QUARANTINED.code)
    expect(CloseCodes.DOCUMENT_QUARANTINED.retry).toBe(true)
    const get = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('doc/poisoned')}`)
    expect(get.status).toBe(503)
    expect(((await get.json()) as { error: string }).error).toBe('quarantined')
    expect(await metric(server.httpUrl, 'atrium_documents_quarantined_total')).toBeGreaterThanOrEqual(1)

    clearInterval(editing)
    const check = provider(server.wsUrl, 'doc/fine')
    await synced(check)
    await untilDoc(check.doc, 'every bystander edit', (d) => keys.every((k) => d.getMap('m').has(k)))
    check.destroy()
    bystander.destroy()

    // The operator repairs it; the next load (a restarted node here) serves it.
    await server.kill()
    const report = await docs(dataDir, 'repair', 'doc/poisoned')
    expect(report.join('\n')).toMatch(/left out \d+ structs of \d+ client ids/)
    expect(JSON.parse((await docs(dataDir, 'stats', 'doc/poisoned')).join('\n')).quarantined).toBeNull()
    server = await startServerProcess({}, dataDir)
    const repaired = provider(server.wsUrl, 'doc/poisoned')
    await synced(repaired)
    repaired.destroy()
    expect(await metric(server.httpUrl, 'atrium_documents_quarantined_total')).toBe(0)
  })
})
