/**
 * Compute over a site document, as pure functions of plain data (they run in worker
 * threads, see server/workers/compute.worker.ts, and in unit tests directly):
 * - analytics: counts per type, floor, zone and system; bounding boxes; hierarchy problems;
 *   connection-graph checks (dangling ends, cycles); clashes between XR anchors and
 *   components, through a uniform-grid spatial index;
 * - a hierarchical SVG of one floor (building → floor → zone → system → component), with a
 *   viewport and a level of detail.
 */
import type { Anchor, BBox, BuildingObject, ObjectType } from '../../shared/schema/domain.ts'
import { OBJECT_TYPES, PARENT_TYPES } from '../../shared/schema/domain.ts'
import { resolveHierarchy, type Hierarchy } from '../../shared/schema/hierarchy.ts'
import { AtriumError } from '../../shared/errors.ts'

export interface Site {
  /** Objects as `sanitizeObject` returns them (valid type, name, parent; invalid fields left out). */
  readonly objects: ReadonlyMap<string, BuildingObject>
  readonly anchors: ReadonlyMap<string, Anchor>
  /** Entries with no valid type (stored before the schema was enforced): reported, not drawn. */
  readonly invalid?: ReadonlySet<string> | undefined
  /** The resolved hierarchy, when the caller keeps it between computations. */
  hierarchy?: Hierarchy | undefined
}

const hierarchyOf = (site: Site): Hierarchy => (site.hierarchy ??= resolveHierarchy(site.objects))

type Counts = Record<ObjectType, number>
const zero = (): Counts => Object.fromEntries(OBJECT_TYPES.map((t) => [t, 0])) as Counts

/** Half the edge of the cube an anchor occupies when checking clashes (metres). */
export const ANCHOR_HALF_EXTENT = 0.15
const SAMPLE = 100
const CELL = 2

export interface Analytics {
  readonly objects: number
  readonly anchors: number
  readonly counts: Counts
  readonly floors: Record<string, { name: string; counts: Counts; bbox: BBox | null }>
  readonly zones: Record<string, { name: string; floor: string | null; counts: Counts; bbox: BBox | null }>
  readonly systems: Record<string, { name: string; zone: string | null; discipline: string | null; components: number; connections: number }>
  readonly bbox: BBox | null
  readonly hierarchy: { detached: number; misplaced: number; invalid: number; sample: { id: string; problem: string }[] }
  readonly connections: { total: number; dangling: number; cycles: number; sample: { id: string; problem: string }[] }
  readonly clashes: { count: number; sample: { anchor: string; component: string }[] }
}

function union(a: BBox | null, b: BBox | null | undefined): BBox | null {
  if (!b) return a
  if (!a) return [...b] as BBox
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.min(a[2], b[2]), Math.max(a[3], b[3]), Math.max(a[4], b[4]), Math.max(a[5], b[5])]
}

const overlaps = (a: BBox, b: BBox) => a[0] <= b[3] && b[0] <= a[3] && a[1] <= b[4] && b[1] <= a[4] && a[2] <= b[5] && b[2] <= a[5]

/** Top-down walk: each object with its floor, zone and system ancestors. */
function walk(
  h: Hierarchy,
  objects: Site['objects'],
  visit: (id: string, o: BuildingObject, ctx: { floor: string | null; zone: string | null; system: string | null }) => void,
): void {
  const stack: [string, { floor: string | null; zone: string | null; system: string | null }][] = (h.children.get(null) ?? []).map((id) => [
    id,
    { floor: null, zone: null, system: null },
  ])
  while (stack.length > 0) {
    const [id, ctx] = stack.pop()!
    const o = objects.get(id)
    if (!o) continue
    visit(id, o, ctx)
    const next = { floor: o.type === 'floor' ? id : ctx.floor, zone: o.type === 'zone' ? id : ctx.zone, system: o.type === 'system' ? id : ctx.system }
    for (const child of h.children.get(id) ?? []) stack.push([child, next])
  }
}

export function analyze(site: Site): Analytics {
  const { objects, anchors } = site
  const h = hierarchyOf(site)
  const counts = zero()
  const floors: Analytics['floors'] = {}
  const zones: Analytics['zones'] = {}
  const systems: Analytics['systems'] = {}
  const hierarchySample: { id: string; problem: string }[] = []
  let misplaced = 0
  for (const [id, reason] of h.detached) if (hierarchySample.length < SAMPLE) hierarchySample.push({ id, problem: reason })
  for (const id of site.invalid ?? []) if (hierarchySample.length < SAMPLE) hierarchySample.push({ id, problem: 'no valid type' })

  let bbox: BBox | null = null
  walk(h, objects, (id, o, ctx) => {
    counts[o.type]++
    const parent = h.parent.get(id) ?? null
    const parentType = parent === null ? null : (objects.get(parent)?.type ?? null)
    if (!PARENT_TYPES[o.type]?.includes(parentType)) {
      misplaced++
      if (hierarchySample.length < SAMPLE) hierarchySample.push({ id, problem: `a ${o.type} under ${parentType ?? 'the top level'}` })
    }
    const box = o.bbox as BBox | undefined
    bbox = union(bbox, box)
    if (o.type === 'floor') floors[id] = { name: o.name, counts: zero(), bbox: box ?? null }
    if (o.type === 'zone') zones[id] = { name: o.name, floor: ctx.floor, counts: zero(), bbox: box ?? null }
    if (o.type === 'system') systems[id] = { name: o.name, zone: ctx.zone, discipline: (o.discipline as string) ?? null, components: 0, connections: 0 }
    if (ctx.floor) {
      const f = floors[ctx.floor]!
      f.counts[o.type]++
      f.bbox = union(f.bbox, box)
    }
    if (ctx.zone) {
      const z = zones[ctx.zone]!
      z.counts[o.type]++
      z.bbox = union(z.bbox, box)
    }
    if (ctx.system && systems[ctx.system]) {
      if (o.type === 'component') systems[ctx.system]!.components++
      if (o.type === 'connection') systems[ctx.system]!.connections++
    }
  })

  // Connection graph: ends must be components; directed from → to must not cycle.
  const connectionSample: { id: string; problem: string }[] = []
  const edges = new Map<string, string[]>()
  let total = 0
  let dangling = 0
  for (const [id, o] of objects) {
    if (o.type !== 'connection') continue
    total++
    const bad = (['from', 'to'] as const).filter((end) => objects.get(o[end] as string)?.type !== 'component')
    if (bad.length > 0) {
      dangling++
      if (connectionSample.length < SAMPLE) connectionSample.push({ id, problem: `${bad.join(' and ')} is not a component` })
      continue
    }
    const from = o.from as string
    const list = edges.get(from)
    if (list) list.push(o.to as string)
    else edges.set(from, [o.to as string])
  }
  const cycles = findCycles(edges)
  for (const cycle of cycles.slice(0, Math.max(0, SAMPLE - connectionSample.length)))
    connectionSample.push({ id: cycle[0]!, problem: `cycle among ${cycle.length} components: ${cycle.slice(0, 5).join(', ')}${cycle.length > 5 ? ', …' : ''}` })

  return {
    objects: objects.size + (site.invalid?.size ?? 0),
    anchors: anchors.size,
    counts,
    floors,
    zones,
    systems,
    bbox,
    hierarchy: { detached: h.detached.size, misplaced, invalid: site.invalid?.size ?? 0, sample: hierarchySample },
    connections: { total, dangling, cycles: cycles.length, sample: connectionSample },
    clashes: clashes(site),
  }
}

/** Strongly connected components with more than one node, or a self-loop (iterative Tarjan). */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const out: string[][] = []
  let next = 0
  for (const root of edges.keys()) {
    if (index.has(root)) continue
    const work: [string, number][] = [[root, 0]]
    index.set(root, next)
    low.set(root, next++)
    stack.push(root)
    onStack.add(root)
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const [v, i] = frame
      const targets = edges.get(v) ?? []
      if (i < targets.length) {
        frame[1]++
        const w = targets[i]!
        if (!index.has(w)) {
          index.set(w, next)
          low.set(w, next++)
          stack.push(w)
          onStack.add(w)
          work.push([w, 0])
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1]![0]
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!))
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          component.push(w)
        } while (w !== v)
        if (component.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(component.reverse())
      }
    }
  }
  // The same list on every replica, whatever order the walk found them in.
  return out.map((c) => c.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
}

/** Anchors (small cubes around their position) that overlap a component's box, via a uniform grid. */
function clashes(site: Site): Analytics['clashes'] {
  const grid = new Map<string, string[]>()
  const large: string[] = []
  const boxes = new Map<string, BBox>()
  for (const [id, o] of site.objects) {
    if (o.type !== 'component' || !o.bbox) continue
    const b = o.bbox as BBox
    boxes.set(id, b)
    const cells =
      (Math.floor(b[3] / CELL) - Math.floor(b[0] / CELL) + 1) *
      (Math.floor(b[4] / CELL) - Math.floor(b[1] / CELL) + 1) *
      (Math.floor(b[5] / CELL) - Math.floor(b[2] / CELL) + 1)
    if (cells > 64) {
      large.push(id)
      continue
    }
    forCells(b, (key) => {
      const list = grid.get(key)
      if (list) list.push(id)
      else grid.set(key, [id])
    })
  }
  const sample: { anchor: string; component: string }[] = []
  let count = 0
  for (const [anchorId, anchor] of [...site.anchors].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [x, y, z] = anchor.pose.p
    const e = ANCHOR_HALF_EXTENT
    const cube: BBox = [x - e, y - e, z - e, x + e, y + e, z + e]
    const seen = new Set<string>()
    const test = (id: string) => {
      if (seen.has(id)) return
      seen.add(id)
      if (!overlaps(cube, boxes.get(id)!)) return
      count++
      if (sample.length < SAMPLE) sample.push({ anchor: anchorId, component: id })
    }
    forCells(cube, (key) => grid.get(key)?.forEach(test))
    large.forEach(test)
  }
  return { count, sample }
}

function forCells(b: BBox, visit: (key: string) => void): void {
  for (let i = Math.floor(b[0] / CELL); i <= Math.floor(b[3] / CELL); i++)
    for (let j = Math.floor(b[1] / CELL); j <= Math.floor(b[4] / CELL); j++)
      for (let k = Math.floor(b[2] / CELL); k <= Math.floor(b[5] / CELL); k++) visit(`${i},${j},${k}`)
}

// ---- SVG ----

export const LODS = ['zones', 'systems', 'full'] as const
export type Lod = (typeof LODS)[number]

export interface SvgOptions {
  readonly floor: string
  readonly lod: Lod
  /** [minX, minY, maxX, maxY] in site metres; default the floor's extent. */
  readonly viewport?: readonly [number, number, number, number] | undefined
}

export class ExportError extends AtriumError {
  override readonly name = 'ExportError'
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const n = (x: number) => String(Math.round(x * 100) / 100)

/** One floor as nested SVG groups (building → floor → zone → system → component), culled to the viewport. */
export function exportSvg(site: Site, options: SvgOptions): string {
  const { objects } = site
  const floor = objects.get(options.floor)
  if (floor?.type !== 'floor') throw new ExportError(`no floor ${JSON.stringify(options.floor)}`)
  const h = hierarchyOf(site)
  const path = [] as string[]
  for (let at: string | null = options.floor; at !== null; at = h.parent.get(at) ?? null) path.unshift(at)
  const building = path.length > 1 ? path[0]! : null
  // The floor's extent: its own box, else the union of what is under it.
  let extent = (floor.bbox as BBox | undefined) ?? null
  if (!extent) for (const id of descendants(h, options.floor)) extent = union(extent, objects.get(id)?.bbox as BBox | undefined)
  const vp = options.viewport ?? (extent ? [extent[0], extent[1], extent[3], extent[4]] : [0, 0, 100, 100])
  const inView = (b: BBox | undefined) => !b || (b[0] <= vp[2] && vp[0] <= b[3] && b[1] <= vp[3] && vp[1] <= b[4])
  const rect = (id: string, cls: string, b: BBox, extra = '') =>
    `<rect id="${esc(id)}" class="${cls}" x="${n(b[0])}" y="${n(b[1])}" width="${n(b[3] - b[0])}" height="${n(b[4] - b[1])}"${extra}/>`
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${n(vp[0])} ${n(vp[1])} ${n(vp[2] - vp[0])} ${n(vp[3] - vp[1])}" data-floor="${esc(options.floor)}" data-lod="${options.lod}">`,
  )
  if (building) out.push(`<g id="${esc(building)}" class="building" data-name="${esc(objects.get(building)!.name)}">`)
  out.push(`<g id="${esc(options.floor)}" class="floor" data-name="${esc(floor.name)}" data-level="${floor.level ?? ''}">`)
  const centre = (b: BBox) => [(b[0] + b[3]) / 2, (b[1] + b[4]) / 2] as const
  const emit = (id: string) => {
    const o = objects.get(id)
    if (!o) return
    const box = o.bbox as BBox | undefined
    switch (o.type) {
      case 'space':
        if (box && inView(box)) out.push(rect(id, 'space', box, ` data-name="${esc(o.name)}"`))
        return
      case 'zone': {
        if (!inView(box)) return
        out.push(`<g id="${esc(id)}" class="zone" data-name="${esc(o.name)}">`)
        if (box) out.push(rect(`${id}:outline`, 'zone-outline', box))
        if (options.lod !== 'zones') for (const child of h.children.get(id) ?? []) emit(child)
        out.push('</g>')
        return
      }
      case 'system': {
        out.push(`<g id="${esc(id)}" class="system" data-name="${esc(o.name)}" data-discipline="${esc(String(o.discipline ?? ''))}">`)
        if (options.lod === 'full') {
          for (const child of h.children.get(id) ?? []) {
            const c = objects.get(child)
            if (c?.type === 'component' && c.bbox && inView(c.bbox as BBox))
              out.push(rect(child, 'component', c.bbox as BBox, ` data-kind="${esc(String(c.kind ?? ''))}"`))
          }
          for (const child of h.children.get(id) ?? []) {
            const c = objects.get(child)
            if (c?.type !== 'connection') continue
            const [a, b] = [objects.get(c.from as string)?.bbox as BBox | undefined, objects.get(c.to as string)?.bbox as BBox | undefined]
            if (!a || !b || (!inView(a) && !inView(b))) continue
            const [[x1, y1], [x2, y2]] = [centre(a), centre(b)]
            out.push(`<line id="${esc(child)}" class="connection" x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}"/>`)
          }
        }
        out.push('</g>')
        return
      }
      default:
        return
    }
  }
  for (const child of h.children.get(options.floor) ?? []) emit(child)
  out.push('</g>')
  if (building) out.push('</g>')
  out.push('</svg>')
  return out.join('\n')
}

function descendants(h: Hierarchy, id: string): string[] {
  const out: string[] = []
  const stack = [...(h.children.get(id) ?? [])]
  while (stack.length > 0) {
    const x = stack.pop()!
    out.push(x)
    stack.push(...(h.children.get(x) ?? []))
  }
  return out
}
