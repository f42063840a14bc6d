/**
 * The building hierarchy of a site document, resolved from parent pointers the same way on
 * every replica (client views, the server's compute worker, cascade deletes): pure, no Yjs.
 */
export interface Hierarchy {
  /** Effective parent of every object (null: top level). */
  readonly parent: ReadonlyMap<string, string | null>
  /** Children by parent (null: the top level), each list sorted by id. */
  readonly children: ReadonlyMap<string | null, readonly string[]>
  /** Objects not where their parentId says, and why: their parent is missing, or they closed a cycle. */
  readonly detached: ReadonlyMap<string, 'missing-parent' | 'cycle'>
}

/**
 * Resolves parent pointers into a tree the same way on every replica (it depends only on
 * the document's state, and replicas converge to the same state):
 * - a parentId that names no object: the object goes to the top level;
 * - a cycle (concurrent moves, A under B while B under A): the cycle's member with the
 *   smallest id goes to the top level, which breaks it; the rest stay under it.
 */
export function resolveHierarchy(objects: ReadonlyMap<string, { readonly parentId?: unknown }>): Hierarchy {
  const parent = new Map<string, string | null>()
  const detached = new Map<string, 'missing-parent' | 'cycle'>()
  for (const [id, o] of objects) {
    const p = typeof o.parentId === 'string' ? o.parentId : null
    if (p !== null && !objects.has(p)) {
      parent.set(id, null)
      detached.set(id, 'missing-parent')
    } else parent.set(id, p)
  }
  // Walk every chain once; a chain that comes back onto itself is a cycle. (Cycles of a
  // parent map are disjoint, and each is broken at its smallest id: the walk order does not matter.)
  const state = new Map<string, 1 | 2>() // 1: on the current path, 2: done
  for (const start of objects.keys()) {
    if (state.has(start)) continue
    const path: string[] = []
    let at: string | null = start
    while (at !== null && !state.has(at)) {
      state.set(at, 1)
      path.push(at)
      at = parent.get(at) ?? null
    }
    if (at !== null && state.get(at) === 1) {
      const cycle = path.slice(path.indexOf(at))
      const breaker = cycle.reduce((a, b) => (b < a ? b : a))
      parent.set(breaker, null)
      detached.set(breaker, 'cycle')
    }
    for (const id of path) state.set(id, 2)
  }
  const children = new Map<string | null, string[]>()
  for (const [id, p] of parent) {
    const list = children.get(p)
    if (list) list.push(id)
    else children.set(p, [id])
  }
  for (const list of children.values()) list.sort()
  return { parent, children, detached }
}

/** `id` and everything under it, parents before children. */
export function subtree(h: Hierarchy, id: string): string[] {
  const out: string[] = []
  const stack = [id]
  while (stack.length > 0) {
    const x = stack.pop()!
    out.push(x)
    const kids = h.children.get(x)
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!)
  }
  return out
}

/** The chain from the top level down to `id` (inclusive). */
export function pathTo(h: Hierarchy, id: string): string[] {
  const out: string[] = []
  for (let at: string | null = id; at !== null; at = h.parent.get(at) ?? null) out.unshift(at)
  return out
}
