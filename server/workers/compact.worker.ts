/**
 * Worker-thread task: merge a snapshot and its update log into one compact snapshot.
 * Applying to a Y.Doc (rather than Y.mergeUpdates) lets Yjs garbage-collect deleted
 * content, so the snapshot is as small as the document. Each entry is checked before it is
 * applied (admission/stored.ts): a log that would take Yjs minutes in the order stored is
 * merged first, so a poisoned document cannot hold a worker thread for minutes either.
 */
import * as Y from 'yjs'
import { storedEntries } from '../../persistence/doc-store.ts'
import { deletePieces, MergedDeletes } from '../admission/deletes.ts'
import { IntegrationModel } from '../admission/model.ts'
import { scanUpdate } from '../admission/scan.ts'
import { allSlices, planSlices } from '../admission/slices.ts'
import { buildChecked, Poisoned } from '../admission/stored.ts'

export interface CompactInput {
  readonly snapshot: Uint8Array | null
  readonly updates: readonly Uint8Array[]
}

export interface CompactOutput {
  readonly snapshot: Uint8Array
  readonly stateVector: Uint8Array
  readonly inputBytes: number
}

export default function compact(input: CompactInput): CompactOutput {
  const entries = storedEntries(input)
  const inputBytes = entries.reduce((n, e) => n + e.length, 0)
  try {
    const { doc } = buildChecked(entries)
    const out = { snapshot: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc), inputBytes }
    doc.destroy()
    return out
  } catch (err) {
    if (!(err instanceof Poisoned)) throw err
    // Poisoned even merged: still one entry instead of many, but never integrated here.
    const merged = Y.mergeUpdates(entries)
    return { snapshot: merged, stateVector: Y.encodeStateVectorFromUpdate(merged), inputBytes }
  }
}

/** Worker-thread task: merge updates into one (Y.mergeUpdates: no Y.Doc, keeps what it is given). */
export function merge(updates: readonly Uint8Array[]): Uint8Array {
  return Y.mergeUpdates(updates as Uint8Array[])
}

export interface ChunkInput {
  readonly update: Uint8Array
  /** Work units of one chunk (admission/model.ts weights: about 40 per byte). */
  readonly maxWork: number
}

/**
 * Worker-thread task: one large update (a joiner's first sync) as chunks a client can apply
 * one after the other, in the order Yjs integrates them, so nothing waits in the client's
 * pending structs until the last chunk arrives.
 */
export function chunk({ update, maxWork }: ChunkInput): Uint8Array[] {
  const u = scanUpdate(update)
  const doc = new Y.Doc()
  const model = new IntegrationModel(doc, u, Number.POSITIVE_INFINITY)
  model.run()
  const deletes = MergedDeletes.from(u.deletes)
  const { pieces } = deletePieces(doc, deletes, (c) => model.stateAfter(c), maxWork)
  return allSlices(planSlices(u, model, deletes, pieces, maxWork))
}

export interface RebaseInput {
  readonly updates: readonly Uint8Array[]
  readonly maxWork: number
}

/**
 * Worker-thread task: a document's parts (a warm full state, documents/warm-state.ts) applied
 * to a Y.Doc — so what the document deleted since is collected, as Y.mergeUpdates would not —
 * encoded, and cut into chunks, as `chunk` cuts a first sync. The parts are what the live
 * document already applied, in its order.
 */
export function rebase({ updates, maxWork }: RebaseInput): Uint8Array[] {
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return chunk({ update: state, maxWork })
}
