import { describe, expect, it } from 'vitest'
import { backoffMs } from './backoff.ts'

describe('backoffMs', () => {
  const policy = { baseMs: 50, maxMs: 5000 }

  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map((n) => backoffMs(n, policy))).toEqual([50, 100, 200, 400, 3200, 5000, 5000])
  })

  it('stays finite however many attempts failed', () => {
    expect(backoffMs(5000, policy)).toBe(5000)
    expect(backoffMs(5000, { baseMs: 0, maxMs: 10 })).toBe(0)
  })

  it('spreads by the jitter fraction either side, after the cap', () => {
    const jittered = { ...policy, jitter: 0.25 }
    expect(backoffMs(1, jittered, 0)).toBe(75)
    expect(backoffMs(1, jittered, 0.5)).toBe(100)
    expect(backoffMs(1, jittered, 0.999)).toBeCloseTo(124.95)
    expect(backoffMs(30, jittered, 0.999)).toBeCloseTo(6247.5)
  })

  it('draws its own random number when none is given', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(2, { ...policy, jitter: 0.5 })
      expect(d).toBeGreaterThanOrEqual(100)
      expect(d).toBeLessThan(300)
    }
  })
})
