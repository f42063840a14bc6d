import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { testSession } from '../testing/session.ts'
import { lacksMost, MIN_INTERVAL_MS, StepOnePacer } from './step1-pacer.ts'

describe('lacksMost', () => {
  const server = new Map([
    [1, 100],
    [2, 100],
  ])
  it('is true when the vector lacks more than a quarter of the clock units the server holds', () => {
    expect(lacksMost(server, new Map())).toBe(true)
    expect(lacksMost(server, new Map([[1, 100]]))).toBe(true)
    expect(lacksMost(server, new Map([[7, 5]]))).toBe(true) // a bogus one-entry vector: the cached full answer
    expect(
      lacksMost(
        server,
        new Map([
          [1, 100],
          [2, 60],
        ]),
      ),
    ).toBe(false)
    expect(
      lacksMost(
        server,
        new Map([
          [1, 500],
          [2, 500],
        ]),
      ),
    ).toBe(false) // ahead of the server: lacks nothing
    expect(lacksMost(new Map(), new Map())).toBe(false) // an empty document: nothing to lack
  })
})

describe('StepOnePacer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers at once, then at most once per interval with the newest vector of a flood', () => {
    const answered: number[] = []
    const pacer = new StepOnePacer((_, sv) => answered.push(sv[0]!))
    const s = testSession('doc/a')
    pacer.offer(s, Uint8Array.of(1))
    for (let i = 2; i <= 200; i++) pacer.offer(s, Uint8Array.of(i))
    expect(answered).toEqual([1])
    vi.advanceTimersByTime(MIN_INTERVAL_MS)
    expect(answered).toEqual([1, 200])
    vi.advanceTimersByTime(10 * MIN_INTERVAL_MS)
    expect(answered).toEqual([1, 200])
    pacer.offer(s, Uint8Array.of(7)) // after a quiet interval: at once again
    expect(answered).toEqual([1, 200, 7])
  })

  it('paces each session on its own, and drops what waits for a session that left', () => {
    const answered: string[] = []
    const pacer = new StepOnePacer((session, sv) => answered.push(`${session.docName}:${sv[0]}`))
    const a = testSession('doc/a')
    const b = testSession('doc/b')
    pacer.offer(a, Uint8Array.of(1))
    pacer.offer(b, Uint8Array.of(1))
    pacer.offer(a, Uint8Array.of(2))
    pacer.offer(b, Uint8Array.of(2))
    pacer.forget(b)
    vi.advanceTimersByTime(MIN_INTERVAL_MS)
    expect(answered).toEqual(['doc/a:1', 'doc/b:1', 'doc/a:2'])
  })
})
