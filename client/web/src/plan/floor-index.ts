/**
 * What the plan draws on one floor, in a uniform grid of CELL-metre cells, so drawing the
 * view costs the objects in view, not the floor. Zones, spaces and components come with
 * their bbox (x/y of [minX,minY,minZ,maxX,maxY,maxZ]); a connection is the line between the
 * centres of its `from` and `to`. Built once per floor and kept current: a field edit
 * re-indexes that object (and the connections that end at it); an object added, removed or
 * moved to another parent rebuilds the floor's index on the next read.
 *
 * Boxes come from other clients: any finite number is valid, so a box of 1e300 metres must
 * not be walked cell by cell (the loop would never end). An item over MAX_ITEM_CELLS cells is
 * kept in a short list that every query checks instead, and a view with more cells than the
 * floor has items is answered by a scan of the items.
 */
import type { Site } from '../../../sdk/index.ts'
import { subtree } from '../../../../shared/schema/hierarchy.ts'
import type { BBox, BuildingObject } from '../../../../shared/schema/domain.ts'

export type Rect = readonly [x0: number, y0: number, x1: number, y1: number]
export type PlanType = 'zone' | 'space' | 'component' | 'connection'

export interface PlanItem {
  readonly id: string
  readonly type: PlanType
  readonly object: Readonly<BuildingObject>
  /** The x/y extent; for a connection, the box of its line. */
  readonly rect: Rect
  /** A connection's end points (x1, y1, x2, y2). */
  readonly line: Rect | null
}

const CELL = 10
/** An item over this many cells is not put in the grid (see the header). */
const MAX_ITEM_CELLS = 1024

/** The grid cells a rect covers (inclusive), or null when it is not finite. */
export function cellSpan(r: Rect): { cx0: number; cy0: number; cx1: number; cy1: number; count: number } | null {
  const [cx0, cy0, cx1, cy1] = r.map((v) => Math.floor(v / CELL)) as [number, number, number, number]
  const count = (cx1 - cx0 + 1) * (cy1 - cy0 + 1)
  // NaN and infinities fail this; so does a span past 2^53, where `cx++` stops counting.
  if (
    !Number.isSafeInteger(cx0) ||
    !Number.isSafeInteger(cy0) ||
    !Number.isSafeInteger(cx1) ||
    !Number.isSafeInteger(cy1) ||
    !(count <= Number.MAX_SAFE_INTEGER)
  )
    return null
  return { cx0, cy0, cx1, cy1, count: Math.max(0, count) }
}

const boxOf = (o: Readonly<BuildingObject>): Rect | null => {
  const b = o.bbox as BBox | undefined
  return b ? [b[0], b[1], b[3], b[4]] : null
}
// Halved first: (1e308 + 1e308) / 2 is Infinity.
const centre = (r: Rect): [number, number] => [r[0] / 2 + r[2] / 2, r[1] / 2 + r[3] / 2]

export const intersects = (a: Rect, b: Rect): boolean => a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1]

export class FloorIndex {
  readonly items = new Map<string, PlanItem>()
  /** Connections by the component at either end. */
  readonly #ends = new Map<string, Set<string>>()
  readonly #cells = new Map<string, Set<string>>()
  readonly #cellsOf = new Map<string, string[]>()
  /** Items too large (or too far out) for the grid: checked by every query. */
  readonly #wide = new Set<string>()
  #stale = true

  constructor(
    readonly site: Pick<Site, 'object' | 'hierarchy'>,
    readonly floorId: string,
  ) {}

  /** The next read rebuilds the whole index (an object appeared, went, or changed parent). */
  invalidate(): void {
    this.#stale = true
  }

  /** Re-reads these objects (field edits), and the connections that end at them. */
  refresh(ids: Iterable<string>): void {
    if (this.#stale) return
    for (const id of ids) {
      if (!this.items.has(id)) continue
      this.#put(id)
      for (const link of this.#ends.get(id) ?? []) this.#put(link)
    }
  }

  /** Items whose extent meets `view`. */
  query(view: Rect): PlanItem[] {
    this.#rebuildIfStale()
    const span = cellSpan(view)
    // Zoomed far out (or a view that is not finite): fewer items than cells to look in.
    if (!span || span.count > this.items.size) return [...this.items.values()].filter((item) => intersects(item.rect, view))
    const seen = new Set<string>()
    const out: PlanItem[] = []
    const consider = (id: string) => {
      if (seen.has(id)) return
      seen.add(id)
      const item = this.items.get(id)!
      if (intersects(item.rect, view)) out.push(item)
    }
    for (let cx = span.cx0; cx <= span.cx1; cx++)
      for (let cy = span.cy0; cy <= span.cy1; cy++) for (const id of this.#cells.get(`${cx},${cy}`) ?? []) consider(id)
    for (const id of this.#wide) consider(id)
    return out
  }

  /** The extent of everything on the floor (the floor's own bbox when it has one). */
  extent(): Rect | null {
    this.#rebuildIfStale()
    const floor = this.site.object(this.floorId)
    const own = floor ? boxOf(floor) : null
    if (own) return own
    let r: [number, number, number, number] | null = null
    for (const { rect } of this.items.values())
      r = r ? [Math.min(r[0], rect[0]), Math.min(r[1], rect[1]), Math.max(r[2], rect[2]), Math.max(r[3], rect[3])] : [...rect]
    return r
  }

  get(id: string): PlanItem | undefined {
    this.#rebuildIfStale()
    return this.items.get(id)
  }

  #rebuildIfStale(): void {
    if (!this.#stale) return
    this.#stale = false
    this.items.clear()
    this.#ends.clear()
    this.#cells.clear()
    this.#cellsOf.clear()
    this.#wide.clear()
    if (!this.site.object(this.floorId)) return
    const ids = subtree(this.site.hierarchy(), this.floorId)
    // Connections last: their ends must be indexed first.
    for (const id of ids) if (this.site.object(id)?.type !== 'connection') this.#put(id)
    for (const id of ids) if (this.site.object(id)?.type === 'connection') this.#put(id)
  }

  #put(id: string): void {
    this.#remove(id)
    const item = this.#read(id)
    if (!item) return
    this.items.set(id, item)
    const span = cellSpan(item.rect)
    if (!span || span.count > MAX_ITEM_CELLS) {
      this.#wide.add(id)
      return
    }
    const cells: string[] = []
    for (let cx = span.cx0; cx <= span.cx1; cx++)
      for (let cy = span.cy0; cy <= span.cy1; cy++) {
        const key = `${cx},${cy}`
        let cell = this.#cells.get(key)
        if (!cell) this.#cells.set(key, (cell = new Set()))
        cell.add(id)
        cells.push(key)
      }
    this.#cellsOf.set(id, cells)
  }

  #remove(id: string): void {
    for (const key of this.#cellsOf.get(id) ?? []) this.#cells.get(key)?.delete(id)
    this.#cellsOf.delete(id)
    this.#wide.delete(id)
    this.items.delete(id)
  }

  #read(id: string): PlanItem | null {
    const object = this.site.object(id)
    if (!object) return null
    if (object.type === 'zone' || object.type === 'space' || object.type === 'component') {
      const rect = boxOf(object)
      return rect ? { id, type: object.type, object, rect, line: null } : null
    }
    if (object.type !== 'connection') return null
    const from = this.items.get(object.from as string)
    const to = this.items.get(object.to as string)
    if (!from || !to) return null
    for (const end of [from.id, to.id]) {
      let set = this.#ends.get(end)
      if (!set) this.#ends.set(end, (set = new Set()))
      set.add(id)
    }
    const [x1, y1] = centre(from.rect)
    const [x2, y2] = centre(to.rect)
    return { id, type: 'connection', object, rect: [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)], line: [x1, y1, x2, y2] }
  }
}
