import { describe, expect, it } from 'vitest'
import Denque from 'denque'
import { FrameTurns, type Backlogged } from './frame-turns.ts'

interface Conn extends Backlogged {
  id: string
  closed: boolean
}
const conn = (id: string): Conn => ({ id, closed: false, backlog: new Denque<Uint8Array>(), backlogBytes: 0, turn: 0, turnMs: 0 })
const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end);
}
const nextTurn = () => new Promise((r) => setImmediate(r))

describe('fair turns for incoming frames', () => {
  it('runs a flood of one connection over several turns, in order, while another connection is served in each', async () => {
    const log: string[] = []
    const turns = new FrameTurns<Conn>({
      perSenderMs: 5,
      perTurnMs: 20,
      maxMessages: 1000,
      maxBytes: 1 << 20,
      run: (c, f) => {
        log.push(`${c.id}${f[0]}`)
        busy(1)
      },
      overflow: () => log.push('overflow'),
    })
    const flood = conn('a')
    const other = conn('b')
    for (let i = 0; i < 30; i++) turns.offer(flood, Uint8Array.of(i))
    turns.offer(other, Uint8Array.of(0))
    // This turn: about 5 ms of the flood, then it waits; the other connection is not held up by it.
    expect(log.filter((x) => x.startsWith('a')).length).toBeLessThanOrEqual(7)
    expect(log).toContain('b0')
    const firstTurn = log.length
    await nextTurn()
    expect(log.length).toBeGreaterThan(firstTurn)
    // However slow the machine (a frame may take a whole turn), the backlog drains in order.
    for (let t = 0; t < 1000 && turns.backlog > 0; t++) await nextTurn()
    expect(log.filter((x) => x.startsWith('a'))).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`))
  })

  it('refuses a connection whose backlog passes its bound', () => {
    const refused: string[] = []
    const turns = new FrameTurns<Conn>({ perSenderMs: 0, perTurnMs: 0, maxMessages: 3, maxBytes: 1 << 20, run: () => {}, overflow: (c) => refused.push(c.id) })
    const c = conn('x')
    for (let i = 0; i < 5; i++) turns.offer(c, Uint8Array.of(i))
    expect(c.backlog.length).toBe(3)
    expect(refused).toEqual(['x', 'x'])
  })
})
