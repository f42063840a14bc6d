/**
 * One frame of the y-websocket protocol, from bytes to document. Synchronous: no await,
 * no JSON between receiving a frame and handing its update to the document.
 * Returns null on success, or the close code the connection must be closed with.
 */
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import { ProtocolError, decodeMessage, type Message } from '../../shared/protocol/messages.ts'
import type { Refusal } from '../admission/admission.ts'
import { AwarenessError } from '../documents/awareness-relay.ts'
import type { SharedDoc } from '../documents/shared-doc.ts'
import type { Metrics } from '../metrics.ts'
import type { Connection } from './connection.ts'

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

export function dispatchFrame(conn: Connection, doc: SharedDoc, frame: Uint8Array, metrics: Metrics): Rejection | null {
  try {
    return dispatch(conn, doc, frame, metrics)
  } catch (err) {
    // A defect of ours, not the client's: close only this connection, never the process.
    return { code: CloseCodes.INTERNAL_ERROR, detail: (err as Error).message }
  }
}

function dispatch(conn: Connection, doc: SharedDoc, frame: Uint8Array, metrics: Metrics): Rejection | null {
  let msg: Message
  try {
    msg = decodeMessage(frame)
  } catch (err) {
    const e = err as ProtocolError
    return { code: e.kind === 'unknown-type' ? CloseCodes.UNKNOWN_MESSAGE_TYPE : CloseCodes.MALFORMED_MESSAGE, detail: e.message }
  }
  metrics.messagesIn.inc({ type: msg.type })
  switch (msg.type) {
    case 'sync-step1':
      try {
        doc.answerSyncStep1(conn, msg.stateVector)
      } catch (err) {
        return { code: CloseCodes.MALFORMED_MESSAGE, detail: `invalid state vector: ${(err as Error).message}` }
      }
      return null
    case 'sync-step2':
    case 'update': {
      const stop = metrics.updateApply.startTimer()
      try {
        const refusal = doc.receiveUpdate(msg.update, conn)
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
        doc.applyAwareness(msg.update, conn)
      } catch (err) {
        if (err instanceof AwarenessError) return { code: CloseCodes.INVALID_AWARENESS, detail: err.message }
        throw err
      }
      return null
    case 'query-awareness':
      doc.answerQueryAwareness(conn)
      return null
    case 'auth':
      // Clients never send auth messages in this protocol; ignore like y-websocket does.
      return null
  }
}
