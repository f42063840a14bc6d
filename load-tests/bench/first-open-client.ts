/**
 * One fresh client opening a document, as a user's browser does: connect, send an empty sync
 * step 1, apply everything the server sends into a Y.Doc until its sync step 2 (a server may
 * send the state in several updates first). Both framings. Used by the first-opener and
 * join-storm benchmarks; it imports only shared/ and yjs, like the load-test core.
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import { decodeHocuspocusFrame, encodeHocuspocusAuth, encodeHocuspocusFrame, HocuspocusType } from '../../shared/protocol/hocuspocus.ts'
import { decodeMessage, encodeSyncStep1, encodeSyncStep2 } from '../../shared/protocol/messages.ts'
import type { Protocol } from '../core/editor.ts'

export interface Opened {
  /** Connect (socket creation) to the sync step 2 received: what the server made the client wait. */
  readonly ms: number
  /** Connect to everything received applied: what the user waits, the client's own Yjs work included. */
  readonly appliedMs: number
  readonly doc: Y.Doc
  readonly ws: WebSocket
}

/**
 * Opens `docName` and resolves once its whole state is applied locally (and goes on applying
 * what follows); rejects after `timeoutMs`. Until the sync step 2 arrives, what comes is kept,
 * not applied, so the time to receive it is the server's alone; then it is applied in order.
 */
export function openDocument(
  url: string,
  docName: string,
  protocol: Protocol,
  timeoutMs = 120_000,
  doc = new Y.Doc(),
  /** false: only receive (a join storm's 150 clients in one process would measure their own Yjs work). */
  apply = true,
): Promise<Opened> {
  const started = performance.now()
  const ws = new WebSocket(protocol === 'hocuspocus' ? url : `${url}/${docName}`, { perMessageDeflate: false })
  ws.binaryType = 'arraybuffer'
  let synced = false
  const kept: Uint8Array[] = []
  const send = (m: Uint8Array) => ws.send(protocol === 'hocuspocus' ? encodeHocuspocusFrame(docName, m) : m)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`${docName}: not synced within ${timeoutMs} ms`))
    }, timeoutMs)
    ws.on('error', (err) => reject(err))
    ws.on('close', (code) => reject(new Error(`${docName}: closed ${code} before its sync`)))
    ws.on('open', () => {
      if (protocol === 'hocuspocus') ws.send(encodeHocuspocusAuth(docName, ''))
      send(encodeSyncStep1(Y.encodeStateVector(doc)))
    })
    ws.on('message', (data: ArrayBuffer) => {
      let message: Uint8Array = new Uint8Array(data)
      if (protocol === 'hocuspocus') {
        const f = decodeHocuspocusFrame(message)
        if (f.type !== HocuspocusType.Sync) return
        message = f.message
      }
      if (message[0] !== 0) return
      const msg = decodeMessage(message)
      if (msg.type === 'sync-step1') return send(encodeSyncStep2(Y.encodeStateAsUpdate(doc, msg.stateVector)))
      if (msg.type !== 'update' && msg.type !== 'sync-step2') return
      if (synced) return apply ? Y.applyUpdate(doc, msg.update) : undefined
      if (apply) kept.push(msg.update)
      if (msg.type !== 'sync-step2') return
      const received = performance.now() - started
      synced = true
      for (const u of kept) Y.applyUpdate(doc, u)
      clearTimeout(timer)
      ws.removeAllListeners('close')
      ws.on('close', () => {})
      resolve({ ms: received, appliedMs: performance.now() - started, doc, ws })
    })
  })
}

/**
 * Resolves once `opened`'s document holds `count` objects — how a client that joined an empty
 * building sees an upload land on the server; rejects after `timeoutMs`.
 */
export function untilObjects(opened: Opened, count: number, timeoutMs = 300_000): Promise<void> {
  const objects = opened.doc.getMap('objects')
  return new Promise((resolve, reject) => {
    if (objects.size === count) return resolve()
    const timer = setTimeout(() => {
      opened.doc.off('update', check)
      reject(new Error(`the document holds ${objects.size} of ${count} objects after ${timeoutMs} ms`))
    }, timeoutMs)
    const check = () => {
      if (objects.size !== count) return
      clearTimeout(timer)
      opened.doc.off('update', check)
      resolve()
    }
    opened.doc.on('update', check)
  })
}
