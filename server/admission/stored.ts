/**
 * Stored documents, checked before Yjs integrates them. A document stored before admission
 * existed (or imported by an operator) can hold updates that cost minutes to integrate in the
 * order they were stored. Every stored entry is modelled first (conflict-scan bound only: large
 * documents are fine, quadratic ones are not); when one would stall, the whole document is
 * tried merged into one update (Yjs then integrates in its own order, which undoes most such
 * cases); when even that would stall, the document is poisoned: it is quarantined, not loaded.
 *
 * This file is the synchronous form, for worker threads and the docs CLI; the server loads in
 * slices over turns of the event loop (documents/loader.ts) with the same rules.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { IntegrationModel, OverBudget } from './model.ts'
import { maxSteps, TRUSTED_LIMITS } from './limits.ts'
import { scanUpdate } from './scan.ts'
import { writeRuns, type Run } from './slices.ts'
import { AtriumError } from '../../shared/errors.ts'

/** Loading the document would stall whoever loads it. */
export class Poisoned extends AtriumError {
  override readonly name = 'Poisoned'
  constructor(readonly detail: string) {
    super(`document would stall its loader: ${detail}`)
  }
}

/** Whether integrating `update` into `doc` stays within the conflict-scan bound (null) or why not. */
export function stallReason(doc: Y.Doc, update: Uint8Array): string | null {
  const u = scanUpdate(update)
  try {
    new IntegrationModel(doc, u, TRUSTED_LIMITS.maxWork, maxSteps(TRUSTED_LIMITS, u.count)).run()
    return null
  } catch (err) {
    if (err instanceof OverBudget) return err.message
    throw err
  }
}

export interface Checked {
  readonly doc: Y.Doc
  /** The entries only load merged (the caller should store them merged). */
  readonly merged: boolean
}

/** The stored entries (snapshot first) as one Y.Doc, each checked before it is applied. Throws Poisoned. */
export function buildChecked(entries: readonly Uint8Array[], gc = true): Checked {
  const doc = new Y.Doc({ gc })
  let stalled: string | null = null
  doc.transact(() => {
    for (const entry of entries) {
      stalled = stallReason(doc, entry)
      if (stalled) return
      Y.applyUpdate(doc, entry)
    }
  })
  if (!stalled) return { doc, merged: false }
  doc.destroy()
  const merged = Y.mergeUpdates([...entries])
  const fresh = new Y.Doc({ gc })
  const still = stallReason(fresh, merged)
  if (still) {
    fresh.destroy()
    throw new Poisoned(still)
  }
  Y.applyUpdate(fresh, merged)
  return { doc: fresh, merged: true }
}

/** A struct scanning further than this is what poisons a document (honest ones scan a handful). */
export const SALVAGE_STEPS_PER_STRUCT = 1000

export interface Salvaged {
  readonly doc: Y.Doc
  /** Client ids whose structs (from the first costly one on) were left out. */
  readonly dropped: number[]
  /** Structs left out: those of dropped clients, and what depended on them. */
  readonly structsLeftOut: number
}

/**
 * A poisoned document without what poisons it: the merged state, modelled with every struct
 * whose own conflict scan passes SALVAGE_STEPS_PER_STRUCT left out together with the rest of
 * its client, and what depended on them. Deletions are kept.
 */
export function salvage(entries: readonly Uint8Array[]): Salvaged {
  const merged = Y.mergeUpdates([...entries])
  const u = scanUpdate(merged)
  const model = new IntegrationModel(new Y.Doc(), u, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, SALVAGE_STEPS_PER_STRUCT)
  const result = model.run()
  // Each client's structs up to the first one left out, as they were encoded; then the delete set.
  const e = encoding.createEncoder()
  const runs: Run[] = []
  for (const b of u.blocks) {
    let end = b.first
    while (end < b.first + b.count && !model.pending[end]) end++
    if (end > b.first) runs.push([b.first, end - 1])
  }
  writeRuns(e, u, runs)
  encoding.writeUint8Array(e, merged.subarray(u.deleteSetStart))
  const { doc } = buildChecked([encoding.toUint8Array(e)])
  return { doc, dropped: [...model.dropped], structsLeftOut: result.pendingStructs }
}
