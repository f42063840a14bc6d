import { describe, expect, it } from 'vitest'
import { ConnectionRates, TokenBucket } from './token-bucket.ts'

describe('token buckets', () => {
  it('allow a burst, then the rate', () => {
    const b = new TokenBucket(10, 5, 0)
    for (let i = 0; i < 5; i++) expect(b.take(1, 0)).toBe(true)
    expect(b.take(1, 0)).toBe(false)
    expect(b.take(1, 100)).toBe(true) // 100 ms at 10/s: one more
    expect(b.take(1, 100)).toBe(false)
    expect(b.take(5, 10_000)).toBe(true) // never more than the burst
    expect(b.take(1, 10_000)).toBe(false)
  })

  it('a refused take leaves the tokens', () => {
    const b = new TokenBucket(1, 10, 0)
    expect(b.take(11, 0)).toBe(false)
    expect(b.take(10, 0)).toBe(true)
  })

  it('say which of a connection rates a message is over', () => {
    const r = new ConnectionRates({ messagesPerS: 100, messageBurst: 3, bytesPerS: 1000, bytesBurst: 1000, awarenessPerS: 1, awarenessBurst: 1 })
    expect(r.over(10, 0)).toBeNull()
    expect(r.takeAwareness(0)).toBe(true)
    expect(r.over(10, 0)).toBeNull()
    expect(r.takeAwareness(0)).toBe(false)
    expect(r.over(2000, 0)).toBe('bytes')
    expect(r.over(1, 0)).toBe('messages')
  })
})
