/**
 * One y-protocol message of a session, from bytes to its document (the framing has found the
 * session and taken the message out of its frame). Synchronous: no await, no JSON between
 * receiving a message and handing its update to the document. Returns null on success, or the
 * close code the session must be closed with, as a value.
 */
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import { type ProtocolError, decodeMessage, type Message } from '../../shared/protocol/messages.ts'
import type { Refusal } from '../admission/admission.ts'
import { AwarenessError, AwarenessOverRate } from '../documents/awareness-relay.ts'
import type { Session } from '../documents/session.ts'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'

export interface Rejection {
  readonly code: CloseCode
  readonly detail: string
}

/** The close code of an update refusal (from admission, decided now or later). */
export function rejectionOf(refusal: Refusal): Rejection {
  switch (refusal.kind) {
    case 'invalid':
      return { code: CloseCodes.INVALID_UPDATE, detail: refusal.detail }
    case 'schema':
      return { code: CloseCodes.SCHEMA_VIOLATION, detail: refusal.detail }
    case 'order':
      return { code: CloseCodes.UPDATE_OUT_OF_ORDER, detail: refusal.detail }
    case 'limit':
      if (refusal.limit === 'busy') return { code: CloseCodes.SERVER_BUSY, detail: refusal.detail }
      if (refusal.limit === 'queue') return { code: CloseCodes.QUEUE_FULL, detail: refusal.detail }
      return { code: CloseCodes.UPDATE_OVER_LIMIT, detail: refusal.detail }
  }
}

export function dispatchMessage(session: Session, doc: SharedDoc, message: Uint8Array, metrics: Metrics): Rejection | null {
  try {
    return dispatch(session, doc, message, metrics)
  } catch (err) {
    // A defect of ours, not the client's: close only this session, never the process.
    return { code: CloseCodes.INTERNAL_ERROR, detail: (err as Error).message }
  }
}

function dispatch(session: Session, doc: SharedDoc, message: Uint8Array, metrics: Metrics): Rejection | null {
  let msg: Message
  try {
    msg = decodeMessage(message)
  } catch (err) {
    const e = err as ProtocolError
    return { code: e.kind === 'unknown-type' ? CloseCodes.UNKNOWN_MESSAGE_TYPE : CloseCodes.MALFORMED_MESSAGE, detail: e.message }
  }
  metrics.messagesIn.inc({ type: msg.type })
  switch (msg.type) {
    case 'sync-step1':
      try {
        doc.answerSyncStep1(session, msg.stateVector)
      } catch (err) {
        return { code: CloseCodes.MALFORMED_MESSAGE, detail: `invalid state vector: ${(err as Error).message}` }
      }
      return null
    case 'sync-step2':
    case 'update': {
      // A read-only session receives everything; what it writes reaches nobody. Not closed, so an
      // unchanged client does not loop on reconnects.
      if (!session.rights.write) {
        metrics.updatesIgnored.inc({ reason: 'read_only' })
        return null
      }
      const stop = metrics.updateApply.startTimer()
      try {
        const refusal = doc.receiveUpdate(msg.update, session)
        // The writer counts what admission refuses; the document's own size bound is counted here.
        if (refusal?.limit === 'document') metrics.updatesRefused.inc({ reason: 'document' })
        return refusal ? rejectionOf(refusal) : null
      } catch (err) {
        // Admitted, yet Yjs failed on it: a gap in admission's checks, reported as the client's bad update.
        return { code: CloseCodes.INVALID_UPDATE, detail: (err as Error).message }
      } finally {
        stop()
      }
    }
    case 'awareness':
      try {
        doc.applyAwareness(msg.update, session)
      } catch (err) {
        if (err instanceof AwarenessError) return { code: CloseCodes.INVALID_AWARENESS, detail: err.message }
        if (err instanceof AwarenessOverRate) return { code: CloseCodes.RATE_LIMITED, detail: `over MAX_AWARENESS_PER_S: ${err.message}` }
        throw err
      }
      return null
    case 'query-awareness':
      doc.answerQueryAwareness(session)
      return null
    case 'auth':
      // Clients never send auth messages in this protocol; ignore like y-websocket does.
      return null
  }
}
