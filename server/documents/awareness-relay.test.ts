import { describe, expect, it } from 'vitest'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import { AwarenessError, AwarenessOverRate, AwarenessRelay } from './awareness-relay.ts'

const s = (json: string) => new TextEncoder().encode(json)
const upd = (...e: [number, number, string | null][]) =>
  encodeAwarenessUpdate(e.map(([clientId, clock, state]) => ({ clientId, clock, state: state === null ? null : s(state) })))
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

  it("keeps this node's own changes apart for the cluster bus, and only when asked to", () => {
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

  // Issue 12, findings 4 and 5.
  it('refuses a message with a state that is not JSON, too large, or a clock that is not a safe integer; nothing of it applies', () => {
    const r = new AwarenessRelay(false, { maxStateBytes: 64, maxIdsPerOwner: 8, timeoutMs: 30_000 })
    const owned = new Set<number>()
    expect(() => r.apply(upd([1, 1, '{"ok":1}'], [2, 1, '{not json']), owned)).toThrow(AwarenessError)
    expect(() => r.apply(upd([3, 1, JSON.stringify({ big: 'x'.repeat(100) })]), owned)).toThrow(/state of \d+ bytes/)
    expect(() => r.apply(upd([4, 2 ** 60, '{}']), owned)).toThrow(/not a safe integer/)
    expect(() => r.apply(Uint8Array.of(1, 5, 1, 3, 0xff, 0xfe, 0xfd), owned)).toThrow(/not JSON/) // not even UTF-8
    expect(r.size).toBe(0)
    expect(owned.size).toBe(0)
    expect(r.takeChanges()).toBeNull()
  })

  it('gives an id to the first sender that claims it, until it is removed or its sender leaves', () => {
    const drops: string[] = []
    const r = new AwarenessRelay(false, undefined, (why) => drops.push(why))
    const victim = new Set<number>()
    const attacker = new Set<number>()
    r.apply(upd([5, 1, '{"me":"victim"}']), victim)
    r.apply(upd([5, 2 ** 50, '{"me":"attacker"}']), attacker)
    r.apply(upd([5, 2, '{"me":"victim again"}']), victim)
    expect(drops).toEqual(['foreign'])
    expect(changes(r)).toEqual([[5, 2, '{"me":"victim again"}']])
    r.remove(victim)
    r.takeChanges()
    // Released: now anyone may claim it (clocks still count from the last one known, if any).
    r.apply(upd([5, 9, '{"me":"new owner"}']), attacker)
    expect(changes(r)).toEqual([[5, 9, '{"me":"new owner"}']])
  })

  it('bounds the ids one connection holds and the jump of a clock', () => {
    const drops: string[] = []
    const r = new AwarenessRelay(false, { maxStateBytes: 1024, maxIdsPerOwner: 2, timeoutMs: 30_000 }, (why) => drops.push(why))
    const one = new Set<number>()
    r.apply(upd([1, 1, '{}'], [2, 1, '{}'], [3, 1, '{}']), one)
    expect([...one]).toEqual([1, 2])
    r.apply(upd([1, 2 + 2 ** 33, '{}']), one)
    expect(drops).toEqual(['too_many', 'clock_jump'])
    // Another node's ids are all its clients': not bounded per sender.
    const node = new Set<number>()
    r.apply(upd([10, 1, '{}'], [11, 1, '{}'], [12, 1, '{}']), node, false)
    expect(node.size).toBe(3)
  })

  it('forgets removed entries once they were broadcast (450,000 leaves leave nothing behind)', () => {
    const r = new AwarenessRelay(false, { maxStateBytes: 1024, maxIdsPerOwner: 10_000, timeoutMs: 30_000 })
    for (let batch = 0; batch < 45; batch++) {
      const owned = new Set<number>()
      const ids = Array.from({ length: 10_000 }, (_, k) => batch * 10_000 + k)
      r.apply(encodeAwarenessUpdate(ids.map((clientId) => ({ clientId, clock: 1, state: new TextEncoder().encode('{}') }))), owned)
      r.apply(encodeAwarenessUpdate(ids.map((clientId) => ({ clientId, clock: 2, state: null }))), owned)
      r.takeChanges()
    }
    expect(r.kept).toBe(0)
    expect(r.size).toBe(0)
  })

  it('times out states nobody renewed for 30 s, as y-protocols clients do', () => {
    const r = new AwarenessRelay()
    const owned = new Set<number>()
    r.apply(upd([1, 1, '{}'], [2, 1, '{}']), owned, true, 1000)
    r.apply(upd([2, 2, '{"renewed":1}']), owned, true, 20_000)
    r.takeChanges()
    expect(r.expire(31_500)).toBe(1)
    expect(changes(r)).toEqual([[1, 2, null]])
    expect(owned.has(1)).toBe(false)
    expect(r.size).toBe(1)
  })

  it('asks admission only for a message that changes its sender’s own presence: an echo of others’ states costs none and is dropped', () => {
    const r = new AwarenessRelay()
    const headset = new Set<number>()
    const viewer = new Set<number>()
    r.apply(upd([1, 1, '{"head":1}']), headset)
    r.apply(upd([2, 1, '{"viewer":1}']), viewer)
    r.takeChanges()
    let asked = 0
    const admit = () => ++asked > 0
    // y-websocket 3.1 echoes what it received: the headset's state is not the viewer's.
    r.apply(upd([1, 1, '{"head":1}'], [1, 2, '{"head":2}']), viewer, true, Date.now(), admit)
    expect(asked).toBe(0)
    expect(changes(r)).toEqual([])
    r.apply(upd([2, 2, '{"viewer":2}'], [1, 3, '{"echo":1}']), viewer, true, Date.now(), admit)
    expect(asked).toBe(1)
    expect(changes(r)).toEqual([[2, 2, '{"viewer":2}']])
  })

  it('refuses a message of its own presence whole when admission says no', () => {
    const r = new AwarenessRelay()
    const owned = new Set<number>()
    expect(() => r.apply(upd([1, 1, '{"a":1}']), owned, true, Date.now(), () => false)).toThrow(AwarenessOverRate)
    expect(changes(r)).toEqual([])
    expect(owned.size).toBe(0)
  })
})
