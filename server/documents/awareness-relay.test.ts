import { describe, expect, it } from 'vitest'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import { AwarenessRelay } from './awareness-relay.ts'

const s = (json: string) => new TextEncoder().encode(json)
const upd = (...e: [number, number, string | null][]) => encodeAwarenessUpdate(e.map(([clientId, clock, state]) => ({ clientId, clock, state: state === null ? null : s(state) })))
const changes = (r: AwarenessRelay) => {
  const u = r.takeChanges()
  return u ? decodeAwarenessUpdate(u).map((e) => [e.clientId, e.clock, e.state && new TextDecoder().decode(e.state)]) : []
}

describe('AwarenessRelay', () => {
  it('applies y-protocols clock rules and coalesces to the latest entry per client', () => {
    const r = new AwarenessRelay()
    const owned = new Set<number>()
    r.apply(upd([1, 1, '{"x":1}']), owned)
    r.apply(upd([1, 2, '{"x":2}']), owned)
    r.apply(upd([1, 1, '{"x":"stale"}']), owned) // older clock: ignored
    r.apply(upd([2, 5, '{"y":1}']), owned)
    expect(changes(r)).toEqual([
      [1, 2, '{"x":2}'],
      [2, 5, '{"y":1}'],
    ])
    expect(changes(r)).toEqual([])
    expect(r.size).toBe(2)
    expect([...owned]).toEqual([1, 2])
  })

  it('accepts a null at the same clock (an explicit leave) and tracks ownership', () => {
    const r = new AwarenessRelay()
    const owned = new Set<number>()
    r.apply(upd([7, 3, '{}']), owned)
    r.apply(upd([7, 3, null]), owned)
    expect(r.size).toBe(0)
    expect(owned.size).toBe(0)
    expect(r.encodeAll()).toBeNull()
  })

  it('removes a disconnected sender with a higher clock and sends only live states to joiners', () => {
    const r = new AwarenessRelay()
    const a = new Set<number>()
    const b = new Set<number>()
    r.apply(upd([1, 4, '{"a":1}']), a)
    r.apply(upd([2, 9, '{"b":1}']), b)
    r.takeChanges()
    r.remove(a)
    expect(changes(r)).toEqual([[1, 5, null]])
    expect(decodeAwarenessUpdate(r.encodeAll()!).map((e) => e.clientId)).toEqual([2])
    r.remove(a) // already gone: nothing new
    expect(changes(r)).toEqual([])
  })

  it('keeps this node\'s own changes apart for the cluster bus, and only when asked to', () => {
    const r = new AwarenessRelay(true)
    r.apply(upd([1, 1, '{"mine":1}']), new Set(), true)
    r.apply(upd([2, 1, '{"theirs":1}']), new Set(), false)
    const local = r.takeLocalChanges()
    expect(decodeAwarenessUpdate(local!).map((e) => e.clientId)).toEqual([1])
    expect(changes(r).map(([id]) => id)).toEqual([1, 2]) // local fan-out gets both
    expect(r.takeLocalChanges()).toBeNull()
    const single = new AwarenessRelay()
    single.apply(upd([1, 1, '{"mine":1}']), new Set(), true)
    expect(single.takeLocalChanges()).toBeNull()
  })
})

