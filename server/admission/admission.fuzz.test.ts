/**
 * Admission against Yjs, on mutated updates (seeded; ADMISSION_FUZZ_SEEDS for more): whatever
 * bytes arrive, admission either refuses them with a typed reason or admits a plan whose slices
 * Yjs applies without an error, leaving the document exactly as Yjs leaves it from the update
 * as a whole. An update admission lets through and Yjs then fails on would be applied half-way.
 */
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { allSlices } from './slices.ts'
import { Admission } from './admission.ts'
import { clientLimits } from './limits.ts'
import { configWith } from '../config.ts'

const limits = clientLimits(configWith({}))

function baseDoc(gen: prng.PRNG): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc()
  const other = new Y.Doc()
  // Client ids from the seed too, so a seed replays exactly.
  doc.clientID = prng.uint32(gen, 1, 2 ** 31)
  other.clientID = prng.uint32(gen, 1, 2 ** 31)
  const updates: Uint8Array[] = []
  other.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < 30; i++) {
    const d = prng.bool(gen) ? doc : other
    const t = d.getText('t')
    t.insert(prng.int32(gen, 0, t.length), prng.word(gen, 1, 4))
    if (prng.bool(gen)) d.getMap('m').set(prng.word(gen, 1, 2), prng.int32(gen, 0, 9))
    if (t.length > 3 && prng.bool(gen)) t.delete(prng.int32(gen, 0, t.length - 2), 1)
    if (prng.int32(gen, 0, 5) === 0) Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)))
  }
  return { doc, updates: [...updates, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc))] }
}

function mutate(gen: prng.PRNG, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  switch (prng.int32(gen, 0, 3)) {
    case 0:
      for (let i = prng.int32(gen, 1, 3); i > 0; i--) if (out.length) out[prng.int32(gen, 0, out.length - 1)] = prng.uint32(gen, 0, 255)
      return out
    case 1:
      return out.subarray(0, prng.int32(gen, 0, out.length))
    case 2:
      // Small numbers: ids and clocks that exist, placed where others were.
      for (let i = prng.int32(gen, 1, 4); i > 0; i--) if (out.length) out[prng.int32(gen, 0, out.length - 1)] = prng.int32(gen, 0, 40)
      return out
    default:
      return out
  }
}

describe('admission on mutated updates', () => {
  const seeds = Number(process.env.ADMISSION_FUZZ_SEEDS ?? 400)
  it(`refuses with a reason, or admits what Yjs applies whole (${seeds} seeds)`, { timeout: 600_000 }, () => {
    let admitted = 0
    let refused = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const gen = prng.create(seed)
      const { doc, updates } = baseDoc(gen)
      for (const original of updates) {
        const bytes = mutate(gen, original)
        const admission = new Admission(doc, bytes, { limits, sliceWork: prng.int32(gen, 1000, 1_000_000) })
        let result: typeof admission.result
        try {
          while (!admission.advance(prng.int32(gen, 1000, 200_000)));
          result = admission.result
        } catch (err) {
          throw new Error(`seed ${seed}: admission threw ${(err as Error).stack}`)
        }
        if (!('plan' in result)) {
          refused++
          expect(['invalid', 'limit', 'order']).toContain(result.kind)
          continue
        }
        admitted++
        // Compared on two copies made alike (Yjs's result on crafted input can depend on how the
        // receiving document happens to have its items split): the whole update on one, the
        // slices on the other.
        const state = Y.encodeStateAsUpdate(doc)
        const whole = new Y.Doc()
        const sliced = new Y.Doc()
        Y.applyUpdate(whole, state)
        Y.applyUpdate(sliced, state)
        let wholeFailed = false
        try {
          Y.applyUpdate(whole, bytes)
        } catch {
          wholeFailed = true
        }
        try {
          for (const slice of allSlices(result.plan)) Y.applyUpdate(doc, slice)
          for (const slice of allSlices(result.plan)) Y.applyUpdate(sliced, slice)
        } catch (err) {
          throw new Error(`seed ${seed}: admitted, then Yjs failed on a slice (whole update ${wholeFailed ? 'fails too' : 'applies'}): ${(err as Error).stack}`)
        }
        if (!wholeFailed) {
          expect(Y.encodeStateVector(sliced), `seed ${seed}`).toEqual(Y.encodeStateVector(whole))
          expect(sliced.getText('t').toString(), `seed ${seed}`).toBe(whole.getText('t').toString())
        }
      }
    }
    expect(admitted).toBeGreaterThan(seeds)
    expect(refused).toBeGreaterThan(seeds / 4)
  })
})
