import { describe, expect, it } from 'vitest'
import { fitView } from './viewport.ts'

const finite = (v: { x: number; y: number; w: number }) => [v.x, v.y, v.w].every(Number.isFinite)

describe('fitView', () => {
  it('shows the whole box with a 5% margin each side, centred', () => {
    const v = fitView([0, 0, 100, 50], 800, 400)
    expect(v.w).toBeCloseTo(110)
    expect(v.x).toBeCloseTo(-5)
    expect(v.y).toBeCloseTo(25 - (110 * 400) / 800 / 2)
  })

  it('a tall box sets the width through the aspect ratio', () => {
    expect(fitView([0, 0, 10, 100], 800, 400).w).toBeCloseTo(220)
  })

  it('a box of 1e300 metres: the zoom stops at its limit, about the box’s centre', () => {
    const v = fitView([-1e300, -1e300, 1e300, 1e300], 800, 400)
    expect(finite(v)).toBe(true)
    expect(v.w).toBe(1600) // 0.5 px per metre, the wheel's limit
    expect(v.x + v.w / 2).toBe(0)
  })

  it('a box at the edge of the doubles (whose sum is Infinity) or with NaN still gives a finite view', () => {
    expect(finite(fitView([1.7e308, 1.7e308, 1.79e308, 1.79e308], 800, 400))).toBe(true)
    expect(finite(fitView([-Number.MAX_VALUE, 0, Number.MAX_VALUE, 1], 800, 400))).toBe(true)
    expect(finite(fitView([Number.NaN, 0, 1, 1], 800, 400))).toBe(true)
  })
})
