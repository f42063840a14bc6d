/** Fan-out skips exactly the session named, by publishing from its socket; anyone else gets everything. */
import { describe, expect, it } from 'vitest'
import type { TemplatedApp } from 'uWebSockets.js'
import { createMetrics } from '../metrics.ts'
import { testSession } from '../testing/session.ts'
import { createPublisher } from './publisher.ts'

function app(subscribers: number) {
  const fromApp: string[] = []
  const fake = { numSubscribers: () => subscribers, publish: (topic: string) => fromApp.push(topic) > 0 }
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
})
