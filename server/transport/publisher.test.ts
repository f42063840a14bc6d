/** Fan-out skips exactly the session named, by publishing from its socket; anyone else gets everything. */
import { describe, expect, it } from 'vitest'
import type { TemplatedApp } from 'uWebSockets.js'
import { createMetrics } from '../metrics.ts'
import { testSession } from '../testing/session.ts'
import { createPublisher } from './publisher.ts'

/** A uWS app with `subscribers` on every y-websocket topic and `hocuspocus` on every Hocuspocus one. */
function app(subscribers: number, hocuspocus = 0) {
  const fromApp: string[] = []
  const fake = {
    numSubscribers: (topic: string) => (topic.startsWith('h|') ? hocuspocus : subscribers),
    publish: (topic: string) => fromApp.push(topic) > 0,
  }
  return { app: fake as unknown as TemplatedApp, fromApp }
}

describe('the publisher', () => {
  it('publishes from the sending session when it is subscribed to the topic and open, else from the app', () => {
    const { app: uws, fromApp } = app(3)
    let bytes = 0
    const publisher = createPublisher(uws, createMetrics(), { sent: (n) => (bytes += n) })
    const sender = testSession('d')
    sender.subscribe('d')
    publisher.publish('d', new Uint8Array(10), sender)
    expect([sender.link.published.length, fromApp.length, bytes]).toEqual([1, 0, 20]) // two others received it
    // Subscribed to another topic, or gone: nobody to skip.
    publisher.publish('e', new Uint8Array(10), sender)
    sender.link.closed = true
    publisher.publish('d', new Uint8Array(10), sender)
    publisher.publish('d', new Uint8Array(10))
    expect([sender.link.published.length, fromApp, bytes]).toEqual([1, ['e', 'd', 'd'], 110])
  })

  it('sends nothing when the sender is the only subscriber', () => {
    const { app: uws, fromApp } = app(1)
    const publisher = createPublisher(uws, createMetrics())
    const sender = testSession('d')
    sender.subscribe('d')
    publisher.publish('d', new Uint8Array(10), sender)
    expect([sender.link.published.length, fromApp.length]).toEqual([0, 0])
  })

  it('frames a message for Hocuspocus sessions with the document name, once, and only when one listens', () => {
    const { app: uws, fromApp } = app(2, 3)
    const frames: Uint8Array[] = []
    const publisher = createPublisher(uws, createMetrics(), { sent: () => {}, hocuspocusSockets: 1 })
    const original = uws.publish
    uws.publish = ((topic: string, frame: Uint8Array) => {
      frames.push(frame)
      return original(topic, frame, true)
    }) as never
    publisher.publish('aw|site/a', Uint8Array.of(1, 2))
    expect(fromApp).toEqual(['aw|site/a', 'h|aw|site/a'])
    expect([...frames[1]!]).toEqual([6, ...new TextEncoder().encode('site/a'), 1, 2])
    // A Hocuspocus sender is skipped on its own wire topic only.
    const sender = testSession('site/a')
    sender.subscribe('site/a')
    sender.link.hocuspocus = true
    publisher.publish('site/a', Uint8Array.of(0, 2, 0), sender)
    expect(fromApp.slice(2)).toEqual(['site/a'])
    expect(sender.link.published.map((p) => p.topic)).toEqual(['h|site/a'])
    // Stateless messages reach Hocuspocus sessions only.
    publisher.publishHocuspocus!('site/a', Uint8Array.of(5, 0))
    expect(fromApp.slice(3)).toEqual(['h|site/a'])
  })

  it('skips the Hocuspocus topics while no Hocuspocus socket is open', () => {
    const { app: uws, fromApp } = app(2, 3)
    const publisher = createPublisher(uws, createMetrics(), { sent: () => {}, hocuspocusSockets: 0 })
    publisher.publish('site/a', Uint8Array.of(0, 2, 0))
    expect(fromApp).toEqual(['site/a'])
  })
})
