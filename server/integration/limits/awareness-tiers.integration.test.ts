/**
 * Awareness rate per subscriber: a headset streams its pose at 90 Hz; a viewer that asked for
 * 10 Hz (`?awarenessHz=10`, as WebsocketProvider's params send it) gets the newest pose about
 * ten times a second, a full-rate viewer every change, and both end on the same state.
 * Document updates are never thinned.
 */
import { afterAll, expect, it } from 'vitest'
import * as Y from 'yjs'
import { provider, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, startServerProcess } from '../../../load-tests/harness/server-process.ts'

afterAll(() => killAllServers())

it('a 10 Hz viewer gets a headset at 90 Hz about ten times a second, newest pose last; edits in full', async () => {
  const server = await startServerProcess()
  const headset = provider(server.wsUrl, 'doc/xr')
  const full = provider(server.wsUrl, 'doc/xr')
  const slow = provider(server.wsUrl, 'doc/xr', new Y.Doc(), { awarenessHz: '10' })
  await Promise.all([synced(headset), synced(full), synced(slow)])
  const heard = (p: typeof full) => {
    let n = 0
    p.awareness.on('update', ({ updated }: { updated: number[] }) => {
      if (updated.includes(headset.awareness.clientID)) n++
    })
    return () => n
  }
  const fullHeard = heard(full)
  const slowHeard = heard(slow)
  const started = Date.now()
  let frame = 0
  while (Date.now() - started < 2000) {
    headset.awareness.setLocalStateField('pose', { frame: ++frame })
    if (frame % 10 === 0) headset.doc.getMap('m').set(`e${frame}`, frame)
    await new Promise((r) => setTimeout(r, 11)) // 90 Hz, the headset's pace
  }
  const pose = (p: typeof full) => (p.awareness.getStates().get(headset.awareness.clientID) as { pose?: { frame: number } } | undefined)?.pose?.frame
  await untilDoc(slow.doc, 'every edit on the slow viewer', (d) => d.getMap('m').size === Math.floor(frame / 10))
  await new Promise((r) => setTimeout(r, 250)) // the tier's last interval (100 ms) passes
  expect(pose(full)).toBe(frame)
  expect(pose(slow)).toBe(frame)
  expect(fullHeard()).toBeGreaterThan(3 * slowHeard()) // about 180 in 2 s (fewer on a loaded machine: ticks coalesce)
  expect(slowHeard()).toBeLessThanOrEqual(25) // 10 Hz over 2 s, and one last interval
  expect(slowHeard()).toBeGreaterThanOrEqual(10)
  for (const p of [headset, full, slow]) p.destroy()
})
