/** Sessions for tests that drive a SharedDoc or a registry by hand: a link that records what it is asked to do. */
import type { Refusal } from '../admission/admission.ts'
import { FULL_RIGHTS, Session, type Rights, type SessionLink } from '../documents/session.ts'

export interface RecordingLink extends SessionLink {
  closed: boolean
  hocuspocus: boolean
  readonly sent: Uint8Array[]
  readonly sequences: Uint8Array[][]
  readonly published: { topic: string; message: Uint8Array }[]
  readonly subscribed: Set<string>
  readonly refusals: Refusal[]
  /** Awareness messages of its own it may still send (Infinity by default). */
  awarenessLeft: number
}

export function recordingLink(): RecordingLink {
  const link: RecordingLink = {
    closed: false,
    sent: [],
    sequences: [],
    published: [],
    subscribed: new Set(),
    refusals: [],
    send: (message) => void link.sent.push(message),
    sendSequence: (messages) => void link.sequences.push(messages),
    subscribe: (topic) => void link.subscribed.add(topic),
    unsubscribe: (topic) => void link.subscribed.delete(topic),
    hocuspocus: false,
    publish: (topic, message) => void link.published.push({ topic, message }),
    refuse: (refusal) => void link.refusals.push(refusal),
    awarenessLeft: Number.POSITIVE_INFINITY,
    takeAwareness: () => link.awarenessLeft-- > 0,
  }
  return link
}

/** A session of `docName` whose link records everything. */
export function testSession(docName: string, rights: Rights = FULL_RIGHTS): Session & { readonly link: RecordingLink } {
  return new Session(docName, rights, recordingLink()) as Session & { readonly link: RecordingLink }
}
