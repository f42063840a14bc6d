import { describe, expect, it } from 'vitest'
import { OBJECT_FIELDS } from '../../shared/schema/domain.ts'
import { prng } from '../../shared/schema/generate.ts'
import { modelFor, nextTags, nextValue } from './sensors.ts'

describe('simulated sensors', () => {
  it('drift around their band, leave it only now and then, and write valid readings', () => {
    const model = modelFor('vav')
    const random = prng(5)
    let value: number | undefined
    let outside = 0
    for (let i = 0; i < 2000; i++) {
      value = nextValue(model, value, random)
      if (value < model.low || value > model.high) outside++
      expect(OBJECT_FIELDS.reading.safeParse({ value, unit: model.unit, at: 1_700_000_000_000 + i }).success).toBe(true)
    }
    expect(outside).toBeGreaterThan(0)
    expect(outside).toBeLessThan(400)
  })

  it('tag alarm while outside the band, keep tags they do not own, and stay valid', () => {
    const model = modelFor('pump')
    const never = () => 0.99 // no maintenance starts, any ends
    expect(nextTags(['critical'], model, model.high + 1, never)).toEqual(['critical', 'alarm'])
    expect(nextTags(['alarm', 'critical'], model, model.low + 1, never)).toEqual(['critical'])
    expect(nextTags(['maintenance'], model, model.low + 1, () => 0.5)).toEqual(['maintenance'])
    expect(nextTags([], model, model.low + 1, () => 0)).toEqual(['maintenance'])
    expect(OBJECT_FIELDS.tags.safeParse(nextTags(['a'], model, -1e9, () => 0)).success).toBe(true)
  })

  it('fall back to a percentage for kinds they do not know', () => {
    expect(modelFor('teleporter').unit).toBe('%')
    expect(modelFor(undefined).unit).toBe('%')
    expect(modelFor('constructor').unit).toBe('%') // not Object.prototype's
  })
})
