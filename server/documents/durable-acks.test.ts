/** Acknowledgements run only once the watermark covers everything handed before them, in order. */
import { describe, expect, it } from 'vitest'
import { DurableAcks } from './durable-acks.ts'

describe('durable acknowledgements', () => {
  it('runs at once when everything handed is durable, else when the watermark passes its mark', () => {
    const marks = { handed: 0, local: 0, shared: 0 }
    const acks = new DurableAcks(marks)
    const ran: string[] = []
    acks.whenDurable(() => ran.push('nothing pending'))
    marks.handed = 2
    acks.whenDurable(() => ran.push('a'))
    marks.handed = 3
    acks.whenDurable(() => ran.push('b'))
    expect([ran, acks.pending]).toEqual([['nothing pending'], 2])
    marks.local = 2
    acks.advanced()
    expect(ran).toEqual(['nothing pending', 'a'])
    // A failing store moves nothing: nothing runs.
    acks.advanced()
    expect(ran).toEqual(['nothing pending', 'a'])
    marks.local = 3
    acks.advanced()
    expect([ran, acks.pending]).toEqual([['nothing pending', 'a', 'b'], 0])
  })
})
