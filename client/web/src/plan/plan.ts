/**
 * The floor plan: an SVG of the selected floor (floor select above it; the first floor by
 * level by default), drawn from the live document through a per-floor grid index, so only
 * what is in view is in the DOM. Redraws at most once a frame, whatever arrives: document
 * changes, presence, pan and zoom.
 */
import type { Editor } from '../context.ts'
import { frameScheduler, h, svg } from '../dom.ts'
import { FloorIndex } from './floor-index.ts'
import { attachInteraction } from './interaction.ts'
import { Layers } from './layers.ts'
import { Overlays, remoteSelections } from './overlays.ts'
import { Viewport } from './viewport.ts'

const MAX_FLOORS = 500

export function planView(editor: Editor): HTMLElement {
  const { site, store } = editor
  const floorSelect = h('select', { 'data-testid': 'floor-select', 'aria-label': 'Floor' })
  const fitButton = h('button', { 'data-testid': 'plan-fit', title: 'Show the whole floor' }, 'Fit')
  const info = h('span', { class: 'plan-info', 'data-testid': 'plan-info' })
  const svgEl = svg('svg', { 'data-testid': 'plan', class: 'plan-svg', role: 'img', 'aria-label': 'Floor plan' })
  const layers = new Layers()
  const overlays = new Overlays(site)
  svgEl.append(layers.root, overlays.root)
  const view = new Viewport(svgEl, () => schedule())
  let index: FloorIndex | null = null
  let dragging: string | null = null
  let fitted = false

  const floors = () => [...site.objects('floor')].sort((a, b) => Number(a.object.level) - Number(b.object.level) || (a.id < b.id ? -1 : 1))

  const syncFloors = () => {
    const list = floors()
    // A document can hold any number of floors; the select lists the first MAX_FLOORS (and the one shown).
    const current = store.state.floorId
    const listed = list.slice(0, MAX_FLOORS)
    const shown = list.find((f) => f.id === current)
    if (shown && !listed.includes(shown)) listed.push(shown)
    const options = listed.map((f) => h('option', { value: f.id }, f.object.name))
    floorSelect.replaceChildren(...(options.length ? options : [h('option', { value: '' }, 'No floors')]))
    floorSelect.disabled = list.length === 0
    if (!current || !list.some((f) => f.id === current)) store.set({ floorId: list[0]?.id ?? null })
    floorSelect.value = store.state.floorId ?? ''
  }

  const render = () => {
    const floorId = store.state.floorId
    if (!index || index.floorId !== floorId) {
      layers.clear()
      index = floorId ? new FloorIndex(site, floorId) : null
      fitted = false
    }
    if (index && !fitted && svgEl.clientWidth > 0) {
      const extent = index.extent()
      if (extent) {
        fitted = true
        return view.fit(extent) // schedules the draw
      }
    }
    const peers = site.presence.others()
    const items = index ? index.query(view.rect) : []
    layers.draw(items, view.pxPerMetre, { selected: store.state.selected, remote: remoteSelections(peers), dragging })
    overlays.draw(floorId, view.rect, view.pxPerMetre, peers)
    info.textContent = `${layers.count} shown · ${view.pxPerMetre.toFixed(1)} px/m`
  }
  const schedule = frameScheduler(render)

  attachInteraction(editor, svgEl, view, {
    index: () => index,
    element: (id) => layers.element(id),
    dragging: (id) => {
      if (id === null && dragging) layers.restore(dragging)
      dragging = id
      schedule()
    },
  })

  floorSelect.addEventListener('change', () => store.set({ floorId: floorSelect.value || null }))
  fitButton.addEventListener('click', () => {
    fitted = false
    schedule()
  })
  store.subscribe((state, before) => {
    if (state.floorId !== before.floorId) {
      floorSelect.value = state.floorId ?? ''
      // A floor past the first MAX_FLOORS (selected from the tree) gets its option.
      if (floorSelect.value !== (state.floorId ?? '')) syncFloors()
    }
    schedule()
  })
  site.on('objectChanged', (e) => {
    if (e.kind !== 'updated' || 'parentId' in e.changes) index?.invalidate()
    else index?.refresh([e.id])
    if (e.type === 'floor') syncFloors()
    schedule()
  })
  site.on('objectsMoved', () => {
    index?.invalidate()
    schedule()
  })
  site.on('anchorMoved', schedule)
  site.presence.onChange(schedule)
  syncFloors()
  schedule()

  return h('section', { class: 'plan' }, h('div', { class: 'plan-bar' }, h('label', {}, 'Floor ', floorSelect), fitButton, info), svgEl)
}
