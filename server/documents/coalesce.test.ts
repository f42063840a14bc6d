/** Coalescing merges a run of small updates only from the group size the caller names; large ones pass as they are. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { coalesce, mergeFrom } from './coalesce.ts'

function edits(n: number, bytes = 10): Uint8Array[] {
  const doc = new Y.Doc()
  const out: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => out.push(u))
  for (let i = 0; i < n; i++) doc.getMap('m').set(`k${i}`, 'x'.repeat(bytes))
  return out
}

describe('coalesce', () => {
  it('merges runs from minGroup updates on, and keeps what it merges', () => {
    const three = edits(3)
    expect(coalesce(three)).toHaveLength(1)
    expect(coalesce(three, 4)).toEqual(three)
    const merged = new Y.Doc()
    Y.applyUpdate(merged, coalesce(three, 3)[0]!)
    expect(merged.getMap('m').size).toBe(3)
  })

  it('merges for many readers, sends as they are for few', () => {
    expect(mergeFrom(49)).toBe(2)
    expect(mergeFrom(4)).toBe(5)
    expect(mergeFrom(0)).toBe(Number.POSITIVE_INFINITY)
  })

  it('lets large updates through untouched', () => {
    const big = edits(2, 40 * 1024)
    expect(coalesce(big)).toEqual(big)
  })
})
