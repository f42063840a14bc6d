import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Awareness } from 'y-protocols/awareness'
import { anchorsOf, setAnchor } from '../../shared/schema/document.ts'
import { Anchor } from '../../shared/schema/domain.ts'
import { sanitizePresence } from '../../shared/schema/presence.ts'
import { Presence } from '../sdk/presence.ts'
import { linkedAwareness } from '../sdk/testing/linked-awareness.ts'
import { SiteView } from '../sdk/views.ts'
import { Headset, type HeadsetSite } from './headset.ts'

/** A Site as far as a headset needs one: presence over linked awareness, anchors on the awareness's own doc. */
function sites(count: number, now: () => number): HeadsetSite[] {
  return linkedAwareness(count).map((awareness: Awareness) => {
    const view = new SiteView(awareness.doc)
    return {
      doc: awareness.doc,
      presence: new Presence(awareness, now),
      setAnchor: (id, anchor) => setAnchor(awareness.doc, id, anchor),
      anchor: (id) => view.anchor(id),
    }
  })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Headset', () => {
  it('streams valid poses that the others see, and measures their latency from the stamp', () => {
    let clock = 1_000_000
    const now = () => clock
    const [s1, s2, s3] = sites(3, now) as [HeadsetSite, HeadsetSite, HeadsetSite]
    const h = [s1, s2, s3].map((s, i) => new Headset(s, { id: `xr-${i}`, seed: i, hz: 90, now }))
    for (const x of h) x.start()
    // start()'s first pose waits for a timer turn: these are sent by hand, on a fixed clock.
    clock += 5
    h[0]!.sendPose()
    const seen = sanitizePresence(s2.presence.awareness.getStates().get(s1.presence.clientId))
    expect(seen.user?.name).toBe('xr-0')
    expect(seen.xr).toMatchObject({ t: 1_000_005, space: 'local-floor' })
    expect(seen.xr?.left).not.toBeNull()
    h[1]!.sendPose()
    h[2]!.sendPose()
    expect(h.map((x) => x.stats().peersSeen)).toEqual([2, 2, 2])
    expect(h[0]!.peers.latency.totalCount).toBe(2)
    // Linked awareness delivers at once; a pose stamped 7 ms ago is a 7 ms latency to both others.
    s1.presence.setPose({ head: seen.xr!.head }, clock - 7)
    expect(h[2]!.peers.latency.maxValue).toBeGreaterThanOrEqual(7000)
    expect(h[2]!.peers.latency.maxValue).toBeLessThan(7100)
    expect(h[1]!.peers.latency.totalCount).toBe(3)
    // A user change re-sends the same pose stamp: no new measurement.
    s1.presence.setUser({ name: 'renamed', color: '#000000' })
    expect(h[1]!.peers.latency.totalCount).toBe(3)
    for (const x of h) x.stop()
    expect(sanitizePresence(s2.presence.awareness.getStates().get(s1.presence.clientId)).xr).toBeNull()
  })

  it('never sends faster than the server default quota, and knows the tier it is granted', () => {
    const [site] = sites(1, Date.now) as [HeadsetSite]
    expect(new Headset(site, { id: 'a', seed: 1, hz: 90 }).sendHz).toBe(90)
    expect(new Headset(site, { id: 'a', seed: 1, hz: 500 }).sendHz).toBe(120)
    expect(new Headset(site, { id: 'a', seed: 1, hz: 500, maxAwarenessPerS: 60 }).sendHz).toBe(60)
    expect(new Headset(site, { id: 'a', seed: 1, hz: 90, awarenessHz: 90 }).grantedTier).toBeNull()
    expect(new Headset(site, { id: 'a', seed: 1, hz: 90, awarenessHz: 90, claimHz: 15 }).grantedTier).toBe(10)
    expect(new Headset(site, { id: 'a', seed: 1, hz: 90, awarenessHz: 45 }).grantedTier).toBe(30)
    expect(new Headset({ ...site, awarenessTier: 30 }, { id: 'a', seed: 1, hz: 90, awarenessHz: 90 }).grantedTier).toBe(30) // the site knows best
    expect(() => new Headset(site, { id: 'a', seed: 1, hz: 0 })).toThrow(RangeError)
  })

  it('paces its poses on a virtual clock: at most the rate, dropping frames rather than bursting', () => {
    vi.useFakeTimers()
    const [site] = sites(1, Date.now) as [HeadsetSite]
    let sends = 0
    site.presence.awareness.on('update', () => sends++)
    const h = new Headset(site, { id: 'a', seed: 1, hz: 500, now: Date.now })
    h.start()
    vi.advanceTimersByTime(10_000)
    expect(h.stats().posesSent).toBeLessThanOrEqual(120 * 10 + 1)
    expect(h.stats().posesSent).toBeGreaterThan(120 * 9)
    expect(sends).toBe(h.stats().posesSent + 1) // and the user, once
    h.stop()
  })

  it('creates and moves valid anchors on the floor ahead of it', () => {
    const [s1, s2] = sites(2, Date.now) as [HeadsetSite, HeadsetSite]
    const h = new Headset(s1, { id: 'xr-7', name: 'Seven', seed: 7, hz: 60 })
    h.start()
    const id = h.createAnchor('pump')
    expect(id).toBe('xr-7.a0')
    const anchor = anchorsOf(s1.doc).get(id)!
    expect(Anchor.safeParse(anchor).success).toBe(true)
    expect(anchor).toMatchObject({ label: 'pump', updatedBy: 'Seven', parentAnchorId: null })
    h.moveAnchor(id)
    expect(anchorsOf(s1.doc).get(id)!.label).toBe('pump')
    expect(h.stats()).toMatchObject({ anchorsCreated: 1, anchorsSeen: 1 })
    expect(anchorsOf(s2.doc).size).toBe(0) // linked awareness only: documents are not
    h.stop()
  })
})
