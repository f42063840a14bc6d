/**
 * Local fan-out through uWS topics: one publish per message, never a loop over sockets. The
 * document names the session to skip (the sender of every update in the batch, which has them
 * already); its link publishes from that session's socket, which uWS skips. Bytes are counted
 * once per receiving subscriber.
 */
import type { TemplatedApp } from 'uWebSockets.js'
import type { Publisher } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'

/** Where fanned-out bytes are reported (the outbound budget, once the sockets are mounted). */
export interface FanoutHook {
  sent: (bytes: number) => void
}

export function createPublisher(app: TemplatedApp, metrics: Metrics, hook: FanoutHook = { sent: () => {} }): Publisher {
  return {
    publish(topic, message, except?) {
      // Skipped only while it is subscribed to this topic: a session that left is nobody to skip.
      const sender = except !== undefined && except.topic === topic && !except.closed ? except : null
      const receivers = app.numSubscribers(topic) - (sender ? 1 : 0)
      if (receivers <= 0) return
      if (sender) sender.link.publish(topic, message)
      else app.publish(topic, message, true)
      metrics.messagesOut.inc(receivers)
      metrics.bytesOut.inc(message.length * receivers)
      hook.sent(message.length * receivers)
    },
  }
}
