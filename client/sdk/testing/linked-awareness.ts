/**
 * Awareness instances that apply each other's updates directly, as clients through a server
 * would: presence tests run without sockets. Test-only (not in the build).
 */
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'

/** `count` linked Awareness instances, each on its own Y.Doc. */
export function linkedAwareness(count: number): Awareness[] {
  const all = Array.from({ length: count }, () => new Awareness(new Y.Doc()))
  for (const from of all)
    from.on('update', ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
      if (origin === 'remote') return
      const update = encodeAwarenessUpdate(from, [...added, ...updated, ...removed])
      for (const to of all) if (to !== from) applyAwarenessUpdate(to, update, 'remote')
    })
  return all
}
