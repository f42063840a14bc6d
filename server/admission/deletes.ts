/**
 * An update's delete set, merged: ranges per client sorted, overlaps and duplicates folded,
 * searchable in O(log n). Yjs applies a delete set range by range as encoded, so 40,000 copies
 * of one range walk the same structs 40,000 times; Atrium hands Yjs the merged set instead
 * (slices.ts) and counts the work on the merged one.
 */
import * as Y from 'yjs'
import { Work } from './model.ts'
import type { DeleteRange } from './scan.ts'

/** Per client: [clock, end) pairs, sorted, disjoint and not adjacent. */
export class MergedDeletes {
  readonly byClient = new Map<number, number[]>()
  ranges = 0

  /** Whether the encoded delete set was already sorted and merged (Yjs writes it that way). */
  canonical = true

  static from(raw: readonly DeleteRange[]): MergedDeletes {
    const m = new MergedDeletes()
    const grouped = new Map<number, DeleteRange[]>()
    let previous: DeleteRange | null = null
    for (const r of raw) {
      // An empty range makes Yjs write an empty pending delete, which it then cannot encode.
      if (r.len === 0) {
        m.canonical = false
        continue
      }
      if (previous && previous.client === r.client && r.clock <= previous.clock + previous.len) m.canonical = false
      if (previous && previous.client !== r.client && grouped.has(r.client)) m.canonical = false
      previous = r
      let list = grouped.get(r.client)
      if (!list) grouped.set(r.client, (list = []))
      list.push(r)
    }
    for (const [client, list] of grouped) {
      list.sort((a, b) => a.clock - b.clock)
      const out: number[] = []
      for (const r of list) {
        const end = r.clock + r.len
        const last = out.length - 1
        if (last > 0 && r.clock <= out[last]!) out[last] = Math.max(out[last]!, end)
        else out.push(r.clock, end)
      }
      m.byClient.set(client, out)
      m.ranges += out.length / 2
    }
    return m
  }

  has(client: number, clock: number): boolean {
    const list = this.byClient.get(client)
    if (!list) return false
    // Last range starting at or before `clock`.
    let lo = 0
    let hi = list.length / 2 - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (list[mid * 2]! <= clock) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found >= 0 && clock < list[found * 2 + 1]!
  }
}

export interface DeletePieces {
  /** The merged ranges cut into pieces of at most about the budget's work, client by client. */
  readonly pieces: RangePiece[]
  readonly work: number
  /** Ranges (or parts of them) past what the document will have: Yjs keeps them pending and re-applies them on every later update. */
  readonly pendingRanges: number
}

/** What the document's states per client will be once the update's structs are in. */
export type StateOf = (client: number) => number

/**
 * Work Yjs does for the merged delete set on `doc`: per range a binary search and up to two
 * splits, every covered struct deleted and garbage collected (a deleted type's children too),
 * and the merge of the deleted run, each split or merge a move of the client's struct array.
 */
export function deletePieces(doc: Y.Doc, deletes: MergedDeletes, stateOf: StateOf, budget: number): DeletePieces {
  const pieces: RangePiece[] = []
  let work = 0
  let pendingRanges = 0
  for (const [client, list] of deletes.byClient) {
    for (let k = 0; k < list.length; k += 2) {
      if (list[k + 1]! > stateOf(client)) pendingRanges++
      for (const piece of rangePieces(doc, client, list[k]!, list[k + 1]!, stateOf, budget)) {
        pieces.push(piece)
        work += piece.work
      }
    }
  }
  return { pieces, work, pendingRanges }
}

export interface RangePiece {
  readonly client: number
  readonly clock: number
  readonly end: number
  readonly work: number
}

/**
 * A range cut at struct boundaries into pieces of at most about `budget` work each (a range
 * over half a document is too much for one slice of the event loop; Yjs accepts any part of it).
 */
export function rangePieces(doc: Y.Doc, client: number, clock: number, end: number, stateOf: StateOf, budget: number): RangePiece[] {
  const structs = doc.store.clients.get(client)
  const docState = structs ? Y.getState(doc.store, client) : 0
  const size = structs?.length ?? 0
  const docEnd = Math.min(end, docState)
  if (!structs || clock >= docEnd) {
    // Structs of this update (or none yet): at most one per clock unit.
    return [{ client, clock, end, work: Work.step * 20 + Work.struct * Math.max(0, Math.min(end, stateOf(client)) - Math.max(clock, docState)) }]
  }
  const pieces: RangePiece[] = []
  const first = Y.findIndexSS(structs, clock)
  const last = Y.findIndexSS(structs, docEnd - 1)
  // Splits where the range starts or ends inside a struct: each a splice of the client's array.
  const splits = (structs[first]!.id.clock < clock ? 1 : 0) + (structs[last]!.id.clock + structs[last]!.length > docEnd ? 1 : 0)
  let from = clock
  let work = Work.step * 20 + Work.move * size * splits
  let covered = 0
  let types = 0
  // Deleted neighbours in the client's array: what is deleted now merges with them.
  const deletedNeighbour = (structs[first - 1]?.deleted ?? false) || (structs[last + 1]?.deleted ?? false)
  const close = (to: number) => {
    // Garbage-collected structs merge with each other: one splice for the run.
    work += Work.move * size * (covered >= 2 || types > 0 || deletedNeighbour ? 1 : 0)
    pieces.push({ client, clock: from, end: to, work })
  }
  for (let i = first; i <= last; i++) {
    const s = structs[i]!
    let w = Work.struct
    if (s instanceof Y.Item && !s.deleted && s.content instanceof Y.ContentType) {
      const t = s.content.type as Y.AbstractType<unknown>
      w += Work.struct * (t._length + t._map.size)
      types++
    }
    if (work + w > budget && covered > 0 && s.id.clock > from) {
      close(s.id.clock)
      from = s.id.clock
      work = Work.step * 20
      covered = 0
      types = 0
    }
    work += w
    covered++
  }
  close(end)
  return pieces
}
