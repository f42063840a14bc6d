import { describe, expect, it } from 'vitest'
import { AWARENESS_TIERS, grantedTier, tierFor } from './awareness-tiers.ts'

describe('awareness tiers', () => {
  it('maps a requested rate to the highest tier not above it, full rate from 60 Hz', () => {
    expect(AWARENESS_TIERS).toEqual([10, 30])
    expect([null, Number.NaN, 60, 90, 1000].map(tierFor)).toEqual([null, null, null, null, null])
    expect([0, 5, 10, 29, 30, 59].map(tierFor)).toEqual([10, 10, 10, 10, 30, 30])
  })
  it("grants what was asked, capped by the token's claim", () => {
    expect(grantedTier(null, null)).toBeNull()
    expect(grantedTier(90, null)).toBeNull()
    expect(grantedTier(null, 10)).toBe(10)
    expect(grantedTier(90, 30)).toBe(30)
    expect(grantedTier(10, 30)).toBe(10)
    expect(grantedTier(90, 0)).toBe(10)
  })
})
