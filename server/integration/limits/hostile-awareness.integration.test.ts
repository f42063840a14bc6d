/**
 * Issue 12, findings 4 and 5, against a real server process with unchanged y-websocket clients:
 * awareness that is not JSON is refused (4415) and never relayed, so other clients keep
 * running and see the valid states; an id belongs to the connection that claimed it (another
 * user's presence cannot be replaced, nor frozen with a huge clock); one connection holds a
 * bounded number of ids, so joiners' greetings stay small.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeAwarenessUpdate } from '../../../shared/protocol/awareness.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeAwareness } from '../../../shared/protocol/messages.ts'
import { on, provider, rawClient, synced, until } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'
import type { WebsocketProvider } from 'y-websocket'

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const states = (p: WebsocketProvider) => p.awareness.getStates()

/** Waits until `p` sees `check` hold on its awareness states. */
const untilStates = (p: WebsocketProvider, what: string, check: (s: Map<number, Record<string, unknown>>) => boolean) =>
  until(what, () => check(states(p) as Map<number, Record<string, unknown>>), on(p.awareness, 'change'))

describe('hostile awareness', () => {
  let server: ServerProcess
  const errors: unknown[] = []
  const onError = (err: unknown) => errors.push(err)
  beforeAll(async () => {
    server = await startServerProcess()
    process.on('uncaughtException', onError)
  })
  afterAll(() => {
    process.off('uncaughtException', onError)
    killAllServers()
  })

  it('finding 4: a state that is not JSON closes its sender with 4415 and reaches nobody; clients keep running and see the valid states', async () => {
    const doc = 'doc/presence'
    const honest = provider(server.wsUrl, doc)
    await synced(honest)
    honest.awareness.setLocalStateField('user', { name: 'Ada' })
    const attacker = await rawClient(`${server.wsUrl}/${doc}`)
    attacker.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 424242, clock: 1, state: new TextEncoder().encode('{not json') }])))
    const { code } = await attacker.closed
    expect(code).toBe(CloseCodes.INVALID_AWARENESS.code)
    // A joiner afterwards (unchanged y-websocket, Node) syncs and sees Ada, and nothing of the attacker.
    const joiner = provider(server.wsUrl, doc)
    await synced(joiner)
    await untilStates(joiner, "Ada's presence", (s) => [...s.values()].some((st) => (st.user as { name?: string } | undefined)?.name === 'Ada'))
    expect(states(joiner).has(424242)).toBe(false)
    honest.awareness.setLocalStateField('user', { name: 'Ada', cursor: 3 })
    await untilStates(joiner, 'the cursor', (s) => [...s.values()].some((st) => (st.user as { cursor?: number } | undefined)?.cursor === 3))
    expect(errors).toEqual([])
    honest.destroy()
    joiner.destroy()
  })

  it("finding 5: nobody can take over another user's id, freeze it with a huge clock, or claim 100,000 ids", async () => {
    const doc = 'doc/ids'
    const victim = provider(server.wsUrl, doc)
    const watcher = provider(server.wsUrl, doc)
    await Promise.all([synced(victim), synced(watcher)])
    victim.awareness.setLocalStateField('user', { name: 'victim' })
    const id = victim.awareness.clientID
    await untilStates(watcher, "the victim's presence", (s) => s.has(id))

    // A clock of 2^60 (2^60 + 1 is 2^60 as a float: the victim could never update again) is refused outright.
    const frozen = await rawClient(`${server.wsUrl}/${doc}`)
    frozen.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: id, clock: 2 ** 60, state: json({ user: { name: 'mallory' } }) }])))
    expect((await frozen.closed).code).toBe(CloseCodes.INVALID_AWARENESS.code)
    // A plausible clock for the victim's id from another connection is dropped.
    const thief = await rawClient(`${server.wsUrl}/${doc}`)
    thief.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: id, clock: 10_000, state: json({ user: { name: 'mallory' } }) }])))
    // 20 ids from one socket: only MAX_AWARENESS_IDS (8) of them are taken.
    const many = Array.from({ length: 20 }, (_, k) => ({ clientId: 1_000_000 + k, clock: 1, state: json({ k }) }))
    thief.send(encodeAwareness(encodeAwarenessUpdate(many)))
    victim.awareness.setLocalStateField('user', { name: 'victim', still: 'here' })
    await untilStates(watcher, "the victim's own update", (s) => (s.get(id)?.user as { still?: string } | undefined)?.still === 'here')
    expect((states(watcher).get(id)?.user as { name?: string } | undefined)?.name).toBe('victim')
    const joiner = provider(server.wsUrl, doc)
    await synced(joiner)
    await untilStates(joiner, 'the victim', (s) => s.has(id))
    const flooded = (s: Map<number, unknown>) => [...s.keys()].filter((k) => k >= 1_000_000 && k < 1_100_000 && k !== id)
    // The joiner's greeting holds every state at once: the victim's and the 8 ids the thief was allowed.
    expect(flooded(states(joiner)).length).toBe(8)
    expect(await metric(server.httpUrl, 'atrium_awareness_dropped_total', { reason: 'foreign' })).toBeGreaterThanOrEqual(1)
    expect(await metric(server.httpUrl, 'atrium_awareness_dropped_total', { reason: 'too_many' })).toBe(12)
    expect(thief.ws.readyState).toBe(thief.ws.OPEN) // dropped entries are counted, not a reason to close
    // 100,000 ids in one message is no client's presence: refused unread, the sender closed.
    const flood = await rawClient(`${server.wsUrl}/${doc}`)
    flood.send(encodeAwareness(encodeAwarenessUpdate(Array.from({ length: 100_000 }, (_, k) => ({ clientId: 2_000_000 + k, clock: 1, state: json({ k }) })))))
    expect((await flood.closed).code).toBe(CloseCodes.INVALID_AWARENESS.code)
    await untilStates(watcher, "the thief's 8 ids", (s) => flooded(s).length === 8)
    thief.ws.close()
    // When the thief leaves, its ids go; the victim's stays.
    await untilStates(watcher, "the thief's ids gone", (s) => flooded(s).length === 0)
    expect(states(watcher).has(id)).toBe(true)
    expect(errors).toEqual([])
    for (const p of [victim, watcher, joiner]) p.destroy()
  })
})
