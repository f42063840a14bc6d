/**
 * A stored document into a SharedDoc without holding the event loop, and without stalling on
 * a poisoned one (server/admission/stored.ts has the rules): every stored entry is admitted
 * (conflict-scan bound only) and applied in slices over turns of the event loop. When an entry
 * would stall, the caller retries with the entries merged (merged in a worker thread); when
 * that stalls too, the document is quarantined.
 */
import { Admission } from '../admission/admission.ts'
import { TRUSTED_LIMITS } from '../admission/limits.ts'
import type { SharedDoc } from './shared-doc.ts'
import type { Turns } from './turns.ts'

export interface LoadOptions {
  readonly turns: Turns
  readonly sliceWork: number
}

/** Work units of admitting one byte of a stored update (scan and model), next to applying it. */
const ADMIT_WORK_PER_BYTE = 60

/**
 * Applies `entries` in order; resolves null when all went in, or the reason the first one
 * that would stall gives (nothing of it or after it is applied). Throws on an entry Yjs could
 * not decode (a corrupt store).
 */
export async function applyStored(doc: SharedDoc, entries: readonly Uint8Array[], opts: LoadOptions): Promise<string | null> {
  let spent = 0
  const spend = async (work: number) => {
    spent += work
    if (spent < opts.sliceWork) return
    spent = 0
    await opts.turns.next()
  }
  for (const entry of entries) {
    const admission = new Admission(doc.doc, entry, { limits: TRUSTED_LIMITS, sliceWork: opts.sliceWork })
    while (!admission.advance(opts.sliceWork)) await opts.turns.next()
    await spend(entry.length * ADMIT_WORK_PER_BYTE)
    const result = admission.result
    if (!('plan' in result)) {
      if (result.kind === 'limit') return result.detail
      throw new Error(`a stored update is not a valid Yjs update: ${result.detail}`)
    }
    const { plan } = result
    for (let k = 0; k < plan.count; k++) {
      doc.loadSlice(plan.slice(k))
      await spend(plan.work[k]!)
    }
  }
  return null
}
