/**
 * Cuts an admitted update into slices that Yjs applies one per turn of the event loop, so a
 * large honest update (an 8 MB upload, a bulk delete over a big document) never holds the loop
 * for more than one slice's work.
 *
 * A slice is a valid Yjs update made of the original bytes: each client's structs in a slice
 * are a contiguous run of its block (copied as they are; the v1 encoding of a struct does not
 * depend on its neighbours), and slices follow the order in which Yjs integrates the structs
 * (the model's), so every struct finds what it depends on in the document or earlier in its own
 * slice. Structs Yjs will keep pending go last, as they would in one update. The delete set
 * follows the structs, merged, cut into pieces by the work of the structs they cover.
 */
import * as encoding from 'lib0/encoding'
import type { MergedDeletes, RangePiece } from './deletes.ts'
import type { IntegrationModel } from './model.ts'
import type { ScannedUpdate } from './scan.ts'

export interface SlicePlan {
  /** How many updates to apply, in order; together they are the original update (delete set merged). */
  readonly count: number
  /** Estimated work of each slice. */
  readonly work: readonly number[]
  /** Slice `k`, encoded when asked for (copying megabytes is work too: it goes with each slice's turn). */
  slice(k: number): Uint8Array
}

/** Every slice of a plan, encoded (tests, workers). */
export const allSlices = (plan: SlicePlan): Uint8Array[] => Array.from({ length: plan.count }, (_, k) => plan.slice(k))

/** `pieces`: the merged delete set cut by `deletePieces` (deletes.ts), with the same budget. */
export function planSlices(u: ScannedUpdate, model: IntegrationModel, deletes: MergedDeletes, pieces: readonly RangePiece[], budget: number): SlicePlan {
  // 1. Integrated structs, in Yjs's order, grouped into slices by work.
  const sliceOf = new Int32Array(u.count).fill(-1)
  const work: number[] = [0]
  for (const i of model.order) {
    let s = work.length - 1
    if (work[s]! > 0 && work[s]! + model.workOf[i]! > budget) work.push(0)
    s = work.length - 1
    sliceOf[i] = s
    work[s]! += model.workOf[i]!
  }
  // 2. The rest of each block (already known, Skip, pending) rides with its neighbours; what
  // follows the first pending struct of a client is pending too, and goes last.
  const lastStructSlice = work.length - 1
  for (const b of u.blocks) {
    let current = 0
    let pendingFrom = false
    for (let i = b.first; i < b.first + b.count; i++) {
      if (model.pending[i]) pendingFrom = true
      if (pendingFrom) sliceOf[i] = lastStructSlice
      else if (sliceOf[i] === -1) sliceOf[i] = current
      current = sliceOf[i]!
    }
  }
  // 3. Deletes after the structs, in pieces.
  const deleteSlices: RangePiece[][] = [[]]
  const deleteWork = [0]
  for (const piece of pieces) {
    const d = deleteSlices.length - 1
    const lastWork = d === 0 ? work[lastStructSlice]! + deleteWork[0]! : deleteWork[d]!
    if (lastWork > 0 && lastWork + piece.work > budget) {
      deleteSlices.push([])
      deleteWork.push(0)
    }
    deleteSlices[deleteSlices.length - 1]!.push(piece)
    deleteWork[deleteWork.length - 1]! += piece.work
  }
  const total = lastStructSlice + deleteSlices.length
  const works = Array.from({ length: total }, (_, s) => (s <= lastStructSlice ? work[s]! : 0) + (s >= lastStructSlice ? deleteWork[s - lastStructSlice]! : 0))
  if (total === 1 && deletes.canonical) return { count: 1, work: works, slice: () => u.bytes }
  // Each block's structs in runs per slice (slice numbers only grow along a block).
  const runs: Run[][] = Array.from({ length: total }, () => [])
  for (const b of u.blocks) {
    for (let i = b.first; i < b.first + b.count; ) {
      let j = i
      while (j + 1 < b.first + b.count && sliceOf[j + 1] === sliceOf[i]) j++
      runs[sliceOf[i]!]!.push([i, j])
      i = j + 1
    }
  }
  return { count: total, work: works, slice: (s) => encodeSlice(u, runs[s]!, s >= lastStructSlice ? deleteSlices[s - lastStructSlice]! : []) }
}

/** Structs `first` to `last` (inclusive) of one client block. */
export type Run = [first: number, last: number]

/** The struct section of an update: each run as a client block of its original bytes. */
export function writeRuns(e: encoding.Encoder, u: ScannedUpdate, runs: readonly Run[]): void {
  encoding.writeVarUint(e, runs.length)
  for (const [first, last] of runs) {
    encoding.writeVarUint(e, last - first + 1)
    encoding.writeVarUint(e, u.client[first]!)
    encoding.writeVarUint(e, u.clock[first]!)
    encoding.writeUint8Array(e, u.bytes.subarray(u.start[first]!, u.end[last]!))
  }
}

/** One slice: each client's run of structs, then its delete pieces. */
function encodeSlice(u: ScannedUpdate, runs: readonly Run[], pieces: readonly RangePiece[]): Uint8Array {
  const e = encoding.createEncoder()
  writeRuns(e, u, runs)
  const byClient = new Map<number, RangePiece[]>()
  for (const p of pieces) {
    const list = byClient.get(p.client)
    if (list) list.push(p)
    else byClient.set(p.client, [p])
  }
  encoding.writeVarUint(e, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, list.length)
    for (const p of list) {
      encoding.writeVarUint(e, p.clock)
      encoding.writeVarUint(e, p.end - p.clock)
    }
  }
  return encoding.toUint8Array(e)
}

/**
 * The same update with its client blocks in descending client order, as Yjs writes them:
 * Y.mergeUpdates merges updates as streams sorted that way and silently drops structs of an
 * update that is not (applyUpdate does not care). Raw bytes, delete set as it was.
 */
export function sortedByClient(u: ScannedUpdate): Uint8Array {
  const runs: Run[] = [...u.blocks]
    .filter((b) => b.count > 0)
    .sort((a, b) => b.client - a.client)
    .map((b) => [b.first, b.first + b.count - 1])
  const e = encoding.createEncoder()
  writeRuns(e, u, runs)
  encoding.writeUint8Array(e, u.bytes.subarray(u.deleteSetStart))
  return encoding.toUint8Array(e)
}
