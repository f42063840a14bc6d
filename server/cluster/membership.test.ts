/**
 * Membership on its own (no Redis): heartbeats carry what of ours the shared store holds,
 * as storage's watermark says, and a silent node's unconfirmed updates are handed to storage.
 */
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../metrics.ts'
import { Channels } from './channels.ts'
import { BusKind, type Envelope } from './envelope.ts'
import { Membership, type Rescue } from './membership.ts'

function node(rescued: boolean) {
  const heartbeats: number[] = []
  const gone: string[] = []
  const persisted: string[] = []
  const durability = { handed: 0, local: 0, shared: 0 }
  const rescue: Rescue = { durability, persist: (doc, update) => persisted.push(`${doc}:${update[0]}`) }
  const membership = new Membership({
    send: (_channel, kind, _doc, _payload, extra) => {
      if (kind === BusKind.heartbeat) heartbeats.push(extra?.seq ?? 0)
      return true
    },
    channels: new Channels('t:', 'me'),
    timeoutMs: 1000,
    rescue: rescued ? rescue : undefined,
    gone: (id) => gone.push(id),
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
  })
  return { membership, heartbeats, gone, persisted, durability }
}

const from = (origin: string, kind: BusKind, seq: number, doc = 'd'): Envelope => ({
  origin,
  kind,
  doc: kind === BusKind.heartbeat ? '' : doc,
  payload: Uint8Array.of(seq),
  sentAt: 0,
  seq,
  digest: 0,
})

describe('Membership', () => {
  afterEach(() => vi.useRealTimers())

  it('says in its heartbeat up to which published update everything is in the shared store', () => {
    const { membership, heartbeats, durability } = node(true)
    durability.handed = 3
    membership.sent(1) // handed to storage as mark 3
    durability.handed = 5
    membership.sent(2)
    membership.tick()
    durability.shared = 4
    membership.tick()
    durability.shared = 5
    membership.tick()
    expect(heartbeats).toEqual([0, 1, 2])
  })

  it("keeps another node's updates until its heartbeat confirms them, and stores the rest when it goes silent", () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { membership, gone, persisted } = node(true)
    for (const seq of [1, 2, 3]) {
      const env = from('other', BusKind.update, seq)
      membership.heard(env)
      membership.keep(env)
    }
    membership.heard(from('other', BusKind.heartbeat, 2))
    expect(membership.peers).toEqual(['other'])
    vi.advanceTimersByTime(1001)
    membership.tick()
    expect(gone).toEqual(['other'])
    expect(membership.peers).toEqual([])
    expect(persisted).toEqual(['d:3'])
  })

  it('with node-local stores keeps nothing: every node stores what it applies', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { membership, heartbeats, gone, persisted } = node(false)
    const env = from('other', BusKind.update, 1)
    membership.heard(env)
    membership.keep(env)
    membership.sent(7)
    vi.advanceTimersByTime(1001)
    membership.tick()
    expect(gone).toEqual(['other'])
    expect(persisted).toEqual([])
    expect(heartbeats).toEqual([0])
  })
})
