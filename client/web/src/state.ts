/**
 * The editor's own state (not the document's): what is selected and which floor the plan
 * shows. Views subscribe and redraw; the document itself is read from the Site.
 */
export interface EditorState {
  readonly selected: string | null
  readonly floorId: string | null
}

type Listener = (state: EditorState, before: EditorState) => void

export class Store {
  #state: EditorState = { selected: null, floorId: null }
  readonly #listeners = new Set<Listener>()

  get state(): EditorState {
    return this.#state
  }

  set(patch: Partial<EditorState>): void {
    const before = this.#state
    const next = { ...before, ...patch }
    if (next.selected === before.selected && next.floorId === before.floorId) return
    this.#state = next
    for (const listener of this.#listeners) listener(next, before)
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
