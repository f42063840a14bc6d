/** What every view of the editor is given: the site, the editor state, and whether it may edit. */
import type * as Y from 'yjs'
import type { Site } from '../../sdk/index.ts'
import type { Store } from './state.ts'

export interface Editor {
  readonly site: Site
  readonly store: Store
  /** The token grants only read on this document: every editing control is disabled. */
  readonly readOnly: boolean
  readonly undo: Y.UndoManager
  /** Shows a short message (a refused write) in the header. */
  notify(message: string): void
}

/** Selects an object and shows its floor on the plan. */
export function select(editor: Editor, id: string | null): void {
  if (id === null) return editor.store.set({ selected: null })
  const floor = editor.site.path(id).find((e) => e.object.type === 'floor')
  editor.store.set({ selected: id, ...(floor ? { floorId: floor.id } : {}) })
}

/** Runs a write; a refusal (SchemaError) is shown instead of thrown. Returns whether it was written. */
export function tryWrite(editor: Editor, write: () => void): boolean {
  try {
    write()
    return true
  } catch (error) {
    editor.notify(error instanceof Error ? error.message : String(error))
    return false
  }
}
