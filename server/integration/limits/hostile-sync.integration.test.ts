/**
 * A sync step 1 is a few bytes whose answer walks the whole document. A client flooding them,
 * each with a bogus state vector (one unknown client: the answer would be the whole document
 * again, encoded anew each time), gets the shared full answer, and one answer per pacing
 * interval however many it sends; a bystander keeps editing. How long the event loop stalls
 * is the benchmark's business, not this test's.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { provider, rawClient, serverHas, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, startServerProcess } from '../../../load-tests/harness/server-process.ts'
import { decodeMessage, encodeSyncStep1 } from '../../../shared/protocol/messages.ts'
import { generateSite } from '../../../shared/schema/generate.ts'
import { MIN_INTERVAL_MS } from '../../documents/step1-pacer.ts'

afterAll(() => killAllServers())

describe('sync step 1 floods', () => {
  it('are answered with the shared full state, at most once per interval, while a bystander edits', async () => {
    const server = await startServerProcess()
    const doc = 'doc/step1' // not a site/ document: the bystander writes a map of its own
    const seeder = provider(server.wsUrl, doc)
    await synced(seeder)
    generateSite(seeder.doc, { objects: 5000, seed: 3 })
    await serverHas(server.wsUrl, doc, (d) => d.getMap('objects').size === 5000, 20_000)

    const attacker = await rawClient(`${server.wsUrl}/${doc}`)
    const bogus = encodeSyncStep1(Y.encodeStateVector(new Map([[424242, 1]])))
    for (let i = 0; i < 300; i++) attacker.send(bogus)
    seeder.doc.getMap('bystander').set('during', 1)
    const watcher = provider(server.wsUrl, doc)
    await synced(watcher)
    await untilDoc(watcher.doc, 'the bystander’s edit', (d) => d.getMap('bystander').get('during') === 1)

    const answers = () => attacker.received.map((f) => decodeMessage(f)).filter((m) => m.type === 'sync-step2')
    // The first answer at once, the newest of the rest after the interval; then nothing more.
    await new Promise((r) => setTimeout(r, 4 * MIN_INTERVAL_MS)) // what must not happen has no event to wait for: answers beyond the paced ones
    expect(answers().length).toBeGreaterThanOrEqual(1)
    expect(answers().length).toBeLessThanOrEqual(3)
    // Each is the whole document (a large one arrives as chunks, the last the sync step 2): the client holds everything after the first.
    const copy = new Y.Doc()
    for (const m of attacker.received.map((f) => decodeMessage(f))) {
      if (m.type !== 'update' && m.type !== 'sync-step2') continue
      Y.applyUpdate(copy, m.update)
      if (m.type === 'sync-step2') break
    }
    expect(copy.getMap('objects').size).toBe(5000)
    expect(attacker.ws.readyState).toBe(attacker.ws.OPEN)
    for (const p of [seeder, watcher]) p.destroy()
    attacker.ws.close()
  })
})
