/**
 * Worker-thread task: merge a snapshot and its update log into one compact snapshot.
 * Applying to a Y.Doc (rather than Y.mergeUpdates) lets Yjs garbage-collect deleted
 * content, so the snapshot is as small as the document.
 */
import * as Y from 'yjs'

export interface CompactInput {
  readonly snapshot: Uint8Array | null
  readonly updates: readonly Uint8Array[]
}

export interface CompactOutput {
  readonly snapshot: Uint8Array
  readonly stateVector: Uint8Array
  readonly inputBytes: number
}

export default function compact({ snapshot, updates }: CompactInput): CompactOutput {
  const doc = new Y.Doc({ gc: true })
  let inputBytes = 0
  doc.transact(() => {
    if (snapshot) {
      Y.applyUpdate(doc, snapshot)
      inputBytes += snapshot.length
    }
    for (const update of updates) {
      Y.applyUpdate(doc, update)
      inputBytes += update.length
    }
  })
  const out = { snapshot: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc), inputBytes }
  doc.destroy()
  return out
}

/** Worker-thread task: merge updates into one (Y.mergeUpdates: no Y.Doc, keeps what it is given). */
export function merge(updates: readonly Uint8Array[]): Uint8Array {
  return Y.mergeUpdates(updates as Uint8Array[])
}
