/** The node-wide bound on what large first syncs keep buffered: past it sockets wait, and a drain wakes them in order. */
import { describe, expect, it } from 'vitest'
import { type GatedSocket, SequenceGate } from './sequence-gate.ts'

/** A socket whose sequence sends `frame` bytes per pump while the gate allows, up to `frames`. */
function socket(gate: SequenceGate, frames: number, frame = 100) {
  const s = {
    buffered: 0,
    sent: 0,
    pump() {
      gate.update(s)
      while (s.sent < frames) {
        if (!gate.mayBuffer()) return gate.wait(s)
        s.sent++
        s.buffered += frame
        gate.update(s)
      }
    },
    drain() {
      s.buffered = 0
      s.pump()
    },
  } satisfies GatedSocket & Record<string, unknown>
  return s
}

describe('the sequence gate', () => {
  it('lets sockets buffer up to the bound, and wakes the waiting ones, in order, as others drain', () => {
    const gate = new SequenceGate(250)
    const a = socket(gate, 5)
    const b = socket(gate, 5)
    const c = socket(gate, 5)
    a.pump() // 100, 200, 300: the third frame went while the gate held 200 < 250
    expect([a.sent, gate.buffered]).toEqual([3, 300])
    b.pump() // over the bound: b and c wait, however many they are
    c.pump()
    expect([b.sent, c.sent, gate.buffered]).toEqual([0, 0, 300])
    // a drains: the waiters go in the order they came — a itself (its last 2 frames), then b until the bound; c still waits.
    a.drain()
    expect([a.sent, b.sent, c.sent, gate.buffered]).toEqual([5, 1, 0, 300])
    b.drain()
    expect(c.sent).toBeGreaterThan(0)
    expect(gate.buffered).toBeLessThanOrEqual(350)
  })

  it('releases a closed socket’s share and wakes a waiter', () => {
    const gate = new SequenceGate(100)
    const a = socket(gate, 3)
    const b = socket(gate, 3)
    a.pump()
    b.pump()
    const sentBefore = b.sent
    b.buffered = 0
    gate.update(b)
    a.buffered = 0
    gate.done(a)
    expect(b.sent).toBeGreaterThan(sentBefore)
  })

  it('stops counting a share that has not shrunk for 10 s: a reader that stalls does not block everyone', () => {
    const gate = new SequenceGate(250)
    const stalled = { buffered: 300, pump() {} }
    gate.update(stalled, 0)
    expect(gate.mayBuffer(5_000)).toBe(false)
    expect(gate.mayBuffer(10_001)).toBe(true)
    expect(gate.buffered).toBe(0)
  })

  it('counts at most 2 MiB of a socket: the rest is its own fan-out backlog', () => {
    const gate = new SequenceGate(64 * 1024 * 1024)
    gate.update({ buffered: 50 * 1024 * 1024, pump() {} })
    expect(gate.buffered).toBe(2 * 1024 * 1024)
  })
})
