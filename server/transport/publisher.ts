/**
 * Local fan-out through uWS topics: one publish per message and framing, never a loop over
 * sockets. A document topic has a wire topic per framing: the y-websocket one is the topic
 * itself, the Hocuspocus one `h|<topic>`, whose frames carry the document name in front (one
 * copy of the message, made only when a Hocuspocus session listens). The document names the
 * session to skip (the sender of every update in the batch, which has them already); its link
 * publishes from that session's socket, which uWS skips. Bytes are counted once per receiving
 * subscriber.
 */
import type { TemplatedApp } from 'uWebSockets.js'
import { encodeHocuspocusKey, frameWithKey } from '../../shared/protocol/hocuspocus.ts'
import { documentOfTopic } from '../documents/awareness-tiers.ts'
import type { Publisher } from '../documents/shared-doc.ts'
import type { Session } from '../documents/session.ts'
import type { Metrics } from '../metrics.ts'

/** Where fanned-out bytes are reported (the outbound budget, once the sockets are mounted), and what the sockets tell fan-out. */
export interface FanoutHook {
  sent: (bytes: number) => void
  /** Open sockets of the Hocuspocus framing: while there are none, no message pays for its Hocuspocus topic. */
  hocuspocusSockets?: number
}

/** The wire topic of a document topic for Hocuspocus sessions (`|` never occurs in a document name). */
export const hocuspocusTopic = (topic: string) => `h|${topic}`

export function createPublisher(app: TemplatedApp, metrics: Metrics, hook: FanoutHook = { sent: () => {} }): Publisher {
  /** Publishes `frame` to `wireTopic`, skipping `sender` when it is one of its subscribers. */
  const send = (wireTopic: string, frame: Uint8Array, sender: Session | null, receivers: number) => {
    if (sender) sender.link.publish(wireTopic, frame)
    else app.publish(wireTopic, frame, true)
    metrics.messagesOut.inc(receivers)
    metrics.bytesOut.inc(frame.length * receivers)
    hook.sent(frame.length * receivers)
  }
  /** Subscribers of `wireTopic` besides `sender`. */
  const receiversOf = (wireTopic: string, sender: Session | null) => app.numSubscribers(wireTopic) - (sender ? 1 : 0)
  const hocuspocus = (topic: string, message: Uint8Array, sender: Session | null) => {
    if (!hook.hocuspocusSockets) return
    const wire = hocuspocusTopic(topic)
    const hpSender = sender?.link.hocuspocus ? sender : null
    const receivers = receiversOf(wire, hpSender)
    if (receivers > 0) send(wire, frameWithKey(encodeHocuspocusKey(documentOfTopic(topic)), message), hpSender, receivers)
  }
  /** The session to skip: only while it is subscribed to this topic (a session that left is nobody to skip). */
  const skipped = (topic: string, except: Session | undefined) => (except !== undefined && except.topic === topic && !except.closed ? except : null)
  return {
    publish(topic, message, except?) {
      const sender = skipped(topic, except)
      const ywsSender = sender && !sender.link.hocuspocus ? sender : null
      const receivers = receiversOf(topic, ywsSender)
      if (receivers > 0) send(topic, message, ywsSender, receivers)
      hocuspocus(topic, message, sender)
    },
    publishHocuspocus(topic, message, except?) {
      hocuspocus(topic, message, skipped(topic, except))
    },
  }
}
