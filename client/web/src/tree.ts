/**
 * The building tree: one row per object, only for expanded levels (a 10,000-object site
 * draws tens of rows, not thousands), long child lists shown in pages of PAGE rows. The
 * filter box lists matching objects flat (at most MAX_MATCHES). A click selects; a selection
 * made elsewhere expands its path and scrolls its row into view. Rows can be dragged onto
 * another row to reparent (when the schema allows that parent).
 */
import type { ObjectEntry } from '../../sdk/views.ts'
import { PARENT_TYPES } from '../../../shared/schema/domain.ts'
import { type Editor, select, tryWrite } from './context.ts'
import { frameScheduler, h } from './dom.ts'

const PAGE = 100
const MAX_MATCHES = 200

export function treeView(editor: Editor): HTMLElement {
  const { site, store } = editor
  const expanded = new Set<string>()
  const shown = new Map<string, number>() // rows shown per parent, past the first PAGE
  const filter = h('input', { type: 'search', 'data-testid': 'tree-filter', placeholder: 'Filter by name or id…', 'aria-label': 'Filter' })
  const list = h('div', { class: 'tree-list', role: 'tree' })
  const root = h('section', { class: 'tree', 'data-testid': 'tree' }, filter, list)
  let dragging: string | null = null

  const row = (entry: ObjectEntry, depth: number, hint?: string): HTMLElement => {
    const kids = site.hierarchy().children.get(entry.id)?.length ?? 0
    const open = expanded.has(entry.id)
    const toggle = h(
      'button',
      { class: 'toggle', 'aria-label': open ? 'Collapse' : 'Expand', 'data-testid': `tree-toggle-${entry.id}`, disabled: kids === 0 },
      kids === 0 ? '' : open ? '▾' : '▸',
    )
    toggle.addEventListener('click', (e) => {
      e.stopPropagation()
      if (expanded.has(entry.id)) expanded.delete(entry.id)
      else expanded.add(entry.id)
      schedule()
    })
    const el = h(
      'div',
      {
        class: `tree-row${store.state.selected === entry.id ? ' selected' : ''}`,
        'data-testid': `tree-item-${entry.id}`,
        'data-type': entry.object.type,
        role: 'treeitem',
        'aria-expanded': kids > 0 ? String(open) : null,
        style: `padding-left: ${0.25 + depth * 1}rem`,
        draggable: editor.readOnly ? null : 'true',
      },
      toggle,
      h('span', { class: `type-tag t-${entry.object.type}` }, entry.object.type),
      h('span', { class: 'name' }, entry.object.name),
      kids > 0 && h('span', { class: 'count', 'data-testid': `tree-count-${entry.id}`, title: `${kids} children` }, String(kids)),
      hint && h('span', { class: 'hint' }, hint),
    )
    el.addEventListener('click', () => select(editor, entry.id))
    el.addEventListener('dragstart', (e) => {
      dragging = entry.id
      e.dataTransfer?.setData('text/plain', entry.id)
    })
    el.addEventListener('dragover', (e) => {
      if (dragging && canParent(dragging, entry.id)) e.preventDefault()
    })
    el.addEventListener('drop', (e) => {
      e.preventDefault()
      const id = dragging
      dragging = null
      if (id && canParent(id, entry.id)) tryWrite(editor, () => site.moveObject(id, entry.id))
    })
    return el
  }

  /** Whether `parent` may take `id`: its type allows it and it is not `id` or under it. */
  const canParent = (id: string, parent: string): boolean => {
    const child = site.object(id)
    const p = site.object(parent)
    if (!child || !p || !PARENT_TYPES[child.type].includes(p.type)) return false
    return !site.path(parent).some((e) => e.id === id)
  }

  const level = (out: HTMLElement[], parent: string | null, depth: number) => {
    const kids = site.children(parent)
    const limit = shown.get(parent ?? '') ?? PAGE
    for (const entry of kids.slice(0, limit)) {
      out.push(row(entry, depth))
      if (expanded.has(entry.id)) level(out, entry.id, depth + 1)
    }
    if (kids.length > limit) {
      const more = h(
        'button',
        { class: 'more', style: `margin-left: ${1.5 + depth}rem`, 'data-testid': `tree-more-${parent ?? 'root'}` },
        `Show ${Math.min(PAGE, kids.length - limit)} more of ${kids.length - limit}…`,
      )
      more.addEventListener('click', () => {
        shown.set(parent ?? '', limit + PAGE)
        schedule()
      })
      out.push(more)
    }
  }

  const render = () => {
    const rows: HTMLElement[] = []
    const q = filter.value.trim().toLowerCase()
    if (q) {
      const matches = site.objects().filter((e) => e.id.toLowerCase().includes(q) || e.object.name.toLowerCase().includes(q))
      for (const entry of matches.slice(0, MAX_MATCHES)) rows.push(row(entry, 0, entry.id))
      if (matches.length > MAX_MATCHES) rows.push(h('div', { class: 'hint' }, `${matches.length - MAX_MATCHES} more: refine the filter`))
      if (matches.length === 0) rows.push(h('div', { class: 'hint' }, 'No match'))
    } else level(rows, null, 0)
    list.replaceChildren(...rows)
    list.querySelector('.selected')?.scrollIntoView({ block: 'nearest' })
  }
  const schedule = frameScheduler(render)

  // The first sync: open the top level (buildings), so floors show at once.
  const openTop = () => {
    if (expanded.size > 0) return
    for (const entry of site.children(null)) expanded.add(entry.id)
  }
  /** Expands the path to `id` and pages far enough down every list on it. */
  const reveal = (id: string) => {
    const path = site.path(id)
    path.forEach((e, i) => {
      const parent = i === 0 ? null : path[i - 1]!.id
      if (parent) expanded.add(parent)
      const index = site.hierarchy().children.get(parent)?.indexOf(e.id) ?? -1
      const key = parent ?? ''
      if (index >= (shown.get(key) ?? PAGE)) shown.set(key, (Math.floor(index / PAGE) + 1) * PAGE)
    })
  }
  filter.addEventListener('input', schedule)
  // Only what the rows show (a sensor feed rewriting readings does not redraw the tree).
  site.on('objectChanged', (e) => {
    if (e.kind === 'updated' && !('name' in e.changes)) return
    openTop()
    schedule()
  })
  site.on('objectsMoved', schedule)
  store.subscribe((state, before) => {
    if (state.selected === before.selected) return
    if (state.selected) reveal(state.selected)
    schedule()
  })
  openTop()
  schedule()
  return root
}
