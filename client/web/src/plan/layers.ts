/**
 * Draws the floor's objects in view into the plan's layers, reusing each object's element
 * while its data is unchanged (Site reads return the same frozen object until it changes).
 * Level of detail: components under MIN_PX on screen and, when zoomed far out, connections
 * are left out (the selected object always stays).
 */
import { setAttrs, svg } from '../dom.ts'
import type { PlanItem, Rect } from './floor-index.ts'

/** A component smaller than this on screen (pixels) is not drawn. */
const MIN_PX = 1.5
/** Connections are drawn from this zoom on (pixels per metre). */
const LINKS_FROM_PX_PER_M = 3

export interface Highlight {
  readonly selected: string | null
  /** Objects other people have selected: their name and colour. */
  readonly remote: ReadonlyMap<string, { name: string; color: string }>
  /** The element being dragged: left where the drag put it. */
  readonly dragging: string | null
}

export class Layers {
  readonly root = svg('g', { class: 'objects' })
  readonly #groups: Record<PlanItem['type'], SVGGElement> = {
    zone: svg('g', { class: 'zones' }),
    space: svg('g', { class: 'spaces' }),
    connection: svg('g', { class: 'connections' }),
    component: svg('g', { class: 'components' }),
  }
  readonly #drawn = new Map<string, { el: SVGElement; item: PlanItem }>()

  constructor() {
    this.root.append(this.#groups.zone, this.#groups.space, this.#groups.connection, this.#groups.component)
  }

  element(id: string): SVGElement | undefined {
    return this.#drawn.get(id)?.el
  }

  /** Puts an element back where its data says (after a drag that wrote nothing). */
  restore(id: string): void {
    const drawn = this.#drawn.get(id)
    if (drawn) place(drawn.el, drawn.item)
  }

  get count(): number {
    return this.#drawn.size
  }

  draw(items: readonly PlanItem[], pxPerMetre: number, hl: Highlight): void {
    const keep = new Set<string>()
    for (const item of [...items].sort(paintOrder)) {
      if (item.id !== hl.selected && !visibleAt(item, pxPerMetre)) continue
      keep.add(item.id)
      let drawn = this.#drawn.get(item.id)
      if (!drawn || drawn.item.type !== item.type) {
        drawn?.el.remove()
        drawn = { el: create(item), item }
        this.#drawn.set(item.id, drawn)
        this.#groups[item.type].append(drawn.el)
        place(drawn.el, item)
      } else if (drawn.item !== item && hl.dragging !== item.id) {
        drawn.item = item
        place(drawn.el, item)
      }
      mark(drawn.el, item.id, hl)
      // The selected object on top of its layer, so what was clicked can be dragged.
      if (item.id === hl.selected && drawn.el.nextSibling) this.#groups[item.type].append(drawn.el)
    }
    for (const [id, { el }] of this.#drawn) {
      if (keep.has(id) || id === hl.dragging) continue
      el.remove()
      this.#drawn.delete(id)
    }
  }

  clear(): void {
    for (const { el } of this.#drawn.values()) el.remove()
    this.#drawn.clear()
  }
}

const area = (r: Rect) => (r[2] - r[0]) * (r[3] - r[1])

/** Larger first (painted below), so a small component is never hidden under a big one; then by id, the same on every replica. */
function paintOrder(a: PlanItem, b: PlanItem): number {
  return area(b.rect) - area(a.rect) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function visibleAt(item: PlanItem, pxPerMetre: number): boolean {
  if (item.type === 'component') return Math.max(item.rect[2] - item.rect[0], item.rect[3] - item.rect[1]) * pxPerMetre >= MIN_PX
  if (item.type === 'connection') return pxPerMetre >= LINKS_FROM_PX_PER_M
  return true
}

function create(item: PlanItem): SVGElement {
  const el = item.type === 'connection' ? svg('line') : svg('rect')
  setAttrs(el, { class: `obj ${item.type}`, 'data-testid': `plan-obj-${item.id}`, 'data-id': item.id, 'data-type': item.type })
  el.append(svg('title'))
  return el
}

function place(el: SVGElement, item: PlanItem): void {
  if (item.line) {
    const [x1, y1, x2, y2] = item.line
    setAttrs(el, { x1, y1, x2, y2 })
  } else {
    const [x0, y0, x1, y1] = item.rect as Rect
    setAttrs(el, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
  }
  el.firstChild!.textContent = `${item.object.name} (${item.type})`
  if (item.object.kind !== undefined) el.dataset.kind = String(item.object.kind)
}

function mark(el: SVGElement, id: string, hl: Highlight): void {
  el.classList.toggle('selected', hl.selected === id)
  const remote = hl.remote.get(id)
  el.classList.toggle('remote-selected', remote !== undefined)
  if (remote) {
    el.dataset.selectedBy = remote.name
    el.style.setProperty('--sel', remote.color)
  } else if (el.dataset.selectedBy !== undefined) {
    delete el.dataset.selectedBy
    el.style.removeProperty('--sel')
  }
}
