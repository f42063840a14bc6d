import { describe, expect, it } from 'vitest'
import type { Awareness } from 'y-protocols/awareness'
import { SchemaError } from '../../shared/schema/document.ts'
import { type PresenceChange, Presence } from './presence.ts'
import { linkedAwareness } from './testing/linked-awareness.ts'

function pair() {
  const [a, b] = linkedAwareness(2) as [Awareness, Awareness]
  return { a, b, pa: new Presence(a, () => 1000), pb: new Presence(b, () => 2000) }
}

const pose = (x: number) => ({ p: [x, 1.6, 0] as [number, number, number], q: [0, 0, 0, 1] as [number, number, number, number] })

describe('Presence', () => {
  it('shows each client what the other wrote, sanitized, without itself', () => {
    const { pa, pb } = pair()
    pa.setUser({ name: 'Ada', color: '#ff0000' })
    pa.setSelection(['o1', 'o2'])
    pa.setCursor({ floorId: 'f1', x: 1, y: 2 })
    pa.setPose({ head: pose(1), left: pose(2) })
    expect(pb.others()).toEqual([
      {
        clientId: pa.clientId,
        user: { name: 'Ada', color: '#ff0000' },
        selection: ['o1', 'o2'],
        cursor: { floorId: 'f1', x: 1, y: 2 },
        xr: { head: pose(1), left: pose(2), right: null, t: 1000, space: 'local-floor' },
      },
    ])
    // b has written nothing: y-protocols never sends a state at clock 0, so a sees no one yet.
    expect(pa.others()).toEqual([])
    pb.setSelection([])
    expect(pa.others()).toEqual([{ clientId: pb.clientId, user: null, selection: [], cursor: null, xr: null }])
    expect(pb.peer(pa.clientId)?.user?.name).toBe('Ada')
    expect(pb.peer(12345)).toBeNull()
  })

  it('changes only its own field of the local state', () => {
    const { a, pa } = pair()
    a.setLocalStateField('app', { mine: true })
    pa.setUser({ name: 'Ada', color: '#ff0000' })
    pa.setPose({ head: pose(0) }, 5)
    pa.setPose({ head: pose(1) }, 6)
    expect(a.getLocalState()).toEqual({
      app: { mine: true },
      user: { name: 'Ada', color: '#ff0000' },
      xr: { head: pose(1), left: null, right: null, t: 6, space: 'local-floor' },
    })
    pa.setPose(null)
    expect(a.getLocalState()?.xr).toBeNull()
  })

  it('throws SchemaError on invalid input and sends nothing', () => {
    const { a, pa, pb } = pair()
    let updates = 0
    a.on('update', () => updates++)
    expect(() => pa.setUser({ name: '', color: '#ff0000' })).toThrow(SchemaError)
    expect(() => pa.setUser({ name: 'x', color: 'red' })).toThrow(/presence user: color/)
    expect(() => pa.setSelection(['bad id'])).toThrow(SchemaError)
    expect(() => pa.setCursor({ floorId: 'f', x: Number.POSITIVE_INFINITY, y: 0 })).toThrow(SchemaError)
    expect(() => pa.setPose({ head: { p: [0, 0, 0], q: [0, 0, 0, 0] } })).toThrow(/quaternion/)
    expect(() => pa.setPose({ head: pose(0) }, -1)).toThrow(SchemaError)
    expect(updates).toBe(0)
    expect(pb.others()).toEqual([])
  })

  it('reads a hostile remote state as its valid parts', () => {
    const { b, pa } = pair()
    b.setLocalState({
      user: { name: 'Eve', color: '#00ff00' },
      selection: 'all',
      cursor: { floorId: 'f', x: 'a', y: 0 },
      xr: { head: pose(0), t: -5, space: 'local-floor' },
    })
    expect(pa.others()).toEqual([{ clientId: b.clientID, user: { name: 'Eve', color: '#00ff00' }, selection: [], cursor: null, xr: null }])
  })

  it('onChange fires on remote changes only, and stops after unsubscribing', () => {
    const { a, b, pa, pb } = pair()
    const seen: PresenceChange[] = []
    const off = pa.onChange((c) => seen.push(c))
    pa.setUser({ name: 'Ada', color: '#ff0000' })
    expect(seen).toEqual([])
    pb.setUser({ name: 'Bob', color: '#0000ff' })
    pb.setCursor({ floorId: 'f', x: 0, y: 0 })
    expect(seen).toEqual([
      { added: [b.clientID], updated: [], removed: [] },
      { added: [], updated: [b.clientID], removed: [] },
    ])
    b.setLocalState(null)
    expect(seen.at(-1)).toEqual({ added: [], updated: [], removed: [b.clientID] })
    off()
    b.setLocalState({ user: { name: 'Bob', color: '#0000ff' } })
    expect(seen).toHaveLength(3)
    a.destroy()
    b.destroy()
  })
})
