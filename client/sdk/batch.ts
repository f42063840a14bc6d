/**
 * Validated writes, batched per transaction. A batch checks every write first, each
 * against the document as the writes before it leave it (shared/schema/document.ts
 * `Draft` and `prepare*`: the same rules as the single helpers, not a copy of them); if one
 * fails, it throws that SchemaError and nothing is applied, so nothing is sent. Otherwise
 * all of them are applied in one `doc.transact(…, origin)`: one Yjs update, one round of
 * change events, one step for an UndoManager that tracks `origin`.
 *
 * `writerFor` gives the same writes one at a time (each a batch of one), for Site's methods.
 */
import type * as Y from 'yjs'
import {
  type Apply,
  Draft,
  prepareAppendTranscript,
  prepareCreateHuman,
  prepareCreateObject,
  prepareDeleteAnchor,
  prepareDeleteObject,
  prepareSetAnchor,
  prepareUpdateHuman,
  prepareUpdateObject,
} from '../../shared/schema/document.ts'
import type { Anchor, BuildingObject, Human } from '../../shared/schema/domain.ts'
import { AtriumError } from '../../shared/errors.ts'

/** The writes of shared/schema/document.ts, without the document (the batch has it). */
export interface Writer {
  createObject(id: string, object: BuildingObject): void
  updateObject(id: string, patch: Record<string, unknown>): void
  moveObject(id: string, parentId: string | null): void
  /** How many objects the delete removes (with `cascade`, the default, everything under `id` too). */
  deleteObject(id: string, options?: { cascade?: boolean }): number
  setAnchor(id: string, anchor: Anchor): void
  deleteAnchor(id: string): void
  createHuman(id: string, human: Human, transcript?: string): void
  updateHuman(id: string, patch: Partial<Human>): void
  appendTranscript(id: string, text: string): void
}

/** A batch's writer used after the batch ended, or a batch callback that returned a promise (its later writes would be lost). */
export class BatchMisuse extends AtriumError {
  override readonly name = 'BatchMisuse'
  constructor(readonly reason: 'closed' | 'async' | 'nested') {
    super(
      reason === 'closed'
        ? 'this batch has ended: write through the writer only inside the batch callback'
        : reason === 'async'
          ? 'a batch callback must be synchronous (nothing was applied)'
          : 'the document was written outside the batch writer during the batch (nothing of the batch was applied)',
    )
  }
}

/**
 * Runs `fill` with a writer, then applies everything it wrote in one transaction tagged
 * `origin`; returns what `fill` returns. Throws (applying nothing) if any write is invalid
 * or `fill` throws.
 */
export function batch<T>(doc: Y.Doc, origin: unknown, fill: (w: Writer) => T): T {
  const draft = new Draft(doc)
  const applies: Apply[] = []
  let open = true
  const add = (prepare: () => Apply): void => {
    if (!open) throw new BatchMisuse('closed')
    applies.push(prepare())
  }
  const w: Writer = {
    createObject: (id, object) => add(() => prepareCreateObject(draft, id, object)),
    updateObject: (id, patch) => add(() => prepareUpdateObject(draft, id, patch)),
    moveObject: (id, parentId) => add(() => prepareUpdateObject(draft, id, { parentId })),
    deleteObject: (id, options) => {
      let count = 0
      add(() => {
        const { apply, doomed } = prepareDeleteObject(draft, id, options)
        count = doomed.length
        return apply
      })
      return count
    },
    setAnchor: (id, anchor) => add(() => prepareSetAnchor(draft, id, anchor)),
    deleteAnchor: (id) => add(() => prepareDeleteAnchor(draft, id)),
    createHuman: (id, human, transcript) => add(() => prepareCreateHuman(draft, id, human, transcript)),
    updateHuman: (id, patch) => add(() => prepareUpdateHuman(draft, id, patch)),
    appendTranscript: (id, text) => add(() => prepareAppendTranscript(draft, id, text)),
  }
  let result: T
  // A write straight to the document inside `fill` (say `site.deleteObject` instead of
  // `w.deleteObject`) would change what the draft checked against: the batch refuses then.
  let wroteOutside = false
  const onWrite = () => (wroteOutside = true)
  doc.on('afterTransaction', onWrite)
  try {
    result = fill(w)
  } finally {
    open = false
    doc.off('afterTransaction', onWrite)
  }
  if (wroteOutside) throw new BatchMisuse('nested')
  if (typeof (result as { then?: unknown } | null)?.then === 'function') throw new BatchMisuse('async')
  if (applies.length > 0)
    doc.transact(() => {
      for (const apply of applies) apply()
    }, origin)
  return result
}

/** The same writes one at a time: each call is a batch of one (validated, then one transaction tagged `origin`). */
export function writerFor(doc: Y.Doc, origin: unknown): Writer {
  return {
    createObject: (id, object) => batch(doc, origin, (w) => w.createObject(id, object)),
    updateObject: (id, patch) => batch(doc, origin, (w) => w.updateObject(id, patch)),
    moveObject: (id, parentId) => batch(doc, origin, (w) => w.moveObject(id, parentId)),
    deleteObject: (id, options) => batch(doc, origin, (w) => w.deleteObject(id, options)),
    setAnchor: (id, anchor) => batch(doc, origin, (w) => w.setAnchor(id, anchor)),
    deleteAnchor: (id) => batch(doc, origin, (w) => w.deleteAnchor(id)),
    createHuman: (id, human, transcript) => batch(doc, origin, (w) => w.createHuman(id, human, transcript)),
    updateHuman: (id, patch) => batch(doc, origin, (w) => w.updateHuman(id, patch)),
    appendTranscript: (id, text) => batch(doc, origin, (w) => w.appendTranscript(id, text)),
  }
}
