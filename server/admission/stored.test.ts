import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { chainBomb, conflictBomb } from '../../load-tests/harness/craft.ts'
import { buildChecked, Poisoned, salvage, stallReason } from './stored.ts'

describe('stored documents are checked before Yjs integrates them', () => {
  it('loads an honest log as stored', () => {
    const src = new Y.Doc()
    const log: Uint8Array[] = []
    src.on('update', (u: Uint8Array) => log.push(u))
    for (let i = 0; i < 50; i++) src.getText('t').insert(i, 'x')
    const { doc, merged } = buildChecked(log)
    expect(merged).toBe(false)
    expect(doc.getText('t').length).toBe(50)
  })

  it('loads a log that would stall in the order stored (4,000 + 4,000 inserts at one spot) merged, where Yjs integrates it cheaply', () => {
    const log = [conflictBomb(4000, 1000), conflictBomb(4000, 100_000)]
    const empty = new Y.Doc()
    Y.applyUpdate(empty, log[0]!)
    expect(stallReason(empty, log[1]!)).toMatch(/concurrent-insert scans/)
    const { doc, merged } = buildChecked(log)
    expect(merged).toBe(true)
    expect(doc.getText('t').length).toBe(8000)
  })

  it('refuses a document that stalls even merged, and salvage leaves out exactly the costly clients', () => {
    const poisoned = chainBomb(3000, 3000, 't', 5, 1000)
    expect(() => buildChecked([poisoned])).toThrow(Poisoned)
    const { doc, dropped, structsLeftOut } = salvage([poisoned])
    // The chain (client 5) stays; each of the 3,000 clients that scanned it is left out, save
    // the one or two whose scans the salvage bound still allows.
    expect(Y.decodeStateVector(Y.encodeStateVector(doc)).get(5)).toBe(3000)
    expect(dropped.length).toBeGreaterThan(2900)
    expect(structsLeftOut).toBe(dropped.length)
    expect(() => buildChecked([Y.encodeStateAsUpdate(doc)])).not.toThrow()
  })
})
