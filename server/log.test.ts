import { describe, expect, it } from 'vitest'
import { LogLimiter } from './log.ts'

describe('LogLimiter', () => {
  it('lets one line per key through per interval, and says how many it dropped', () => {
    const l = new LogLimiter(1000)
    expect(l.allow('a', 0)).toBe(0)
    for (let t = 1; t < 1000; t += 100) expect(l.allow('a', t)).toBeNull()
    // Another address is not held back by the first one.
    expect(l.allow('b', 500)).toBe(0)
    expect(l.allow('a', 1000)).toBe(10)
    expect(l.allow('a', 1001)).toBeNull()
    expect(l.allow('a', 2500)).toBe(1)
  })

  it('forgets the oldest half of its keys past its bound (memory bounded whatever the addresses)', () => {
    const l = new LogLimiter(1000, 4)
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(l.allow(k, 0)).toBe(0)
    // 'a' and 'b' were forgotten: allowed again at once; 'e' is still limited.
    expect(l.allow('a', 1)).toBe(0)
    expect(l.allow('e', 1)).toBeNull()
  })
})
