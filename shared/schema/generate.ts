/**
 * A realistic site, deterministically from a seed: a building of floors, each with zones
 * (4 × 2 on the floor plate), MEP systems per zone (hvac, electrical, plumbing, data), their
 * components and the connections that chain them, rooms (spaces); XR anchors around the
 * floors (some placed inside equipment, so clash checks find something) and digital humans.
 * Written through the typed helpers, in transactions of `batch` objects (one update each).
 * Used by `npm run seed`, tests and benchmarks.
 */
import type * as Y from 'yjs'
import type { BBox, ObjectType } from './domain.ts'
import { appendTranscript, createHuman, createObject, setAnchor } from './document.ts'

export interface SiteOptions {
  /** Total objects in `objects` (exactly). */
  readonly objects: number
  readonly anchors?: number
  readonly humans?: number
  readonly seed?: number
  /** Objects per transaction (one Yjs update each). */
  readonly batch?: number
}

export interface SiteSummary {
  readonly counts: Record<ObjectType, number>
  readonly floors: number
  readonly anchors: number
  readonly humans: number
}

const FLOOR_W = 100
const FLOOR_D = 50
const FLOOR_H = 4
const ZONES_X = 4
const ZONES_Y = 2
const SYSTEMS = ['hvac', 'electrical', 'plumbing', 'data'] as const
const KINDS: Record<(typeof SYSTEMS)[number], readonly string[]> = {
  hvac: ['vav', 'diffuser', 'damper', 'fan-coil'],
  electrical: ['panel', 'outlet', 'luminaire', 'switch'],
  plumbing: ['valve', 'pump', 'sink', 'water-heater'],
  data: ['access-point', 'switch', 'camera', 'sensor'],
}
const SPACES_PER_FLOOR = 10

/** Mulberry32: small, fast, deterministic (also what the bots draw their seeded choices from). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const round = (x: number) => Math.round(x * 100) / 100

export function generateSite(doc: Y.Doc, options: SiteOptions): SiteSummary {
  const total = options.objects
  if (!Number.isInteger(total) || total < 1) throw new Error('objects must be a positive integer')
  const rand = prng(options.seed ?? 1)
  const batch = options.batch ?? 2000
  // Per floor: 1 floor + 8 zones + 10 spaces + 32 systems + 32·k components + 32·(k−1) connections.
  const floors = Math.max(1, Math.min(200, Math.round(total / 3000)))
  const perFloorFixed = 1 + ZONES_X * ZONES_Y + SPACES_PER_FLOOR + ZONES_X * ZONES_Y * SYSTEMS.length
  const k = Math.max(1, Math.floor(((total - 1) / floors - perFloorFixed + 32) / 64))
  const counts: Record<ObjectType, number> = { building: 0, floor: 0, zone: 0, system: 0, component: 0, connection: 0, space: 0 }
  const systems: { id: string; discipline: (typeof SYSTEMS)[number]; box: BBox; last: string | null; n: number }[] = []

  const pending: [string, Parameters<typeof createObject>[2]][] = []
  let made = 0
  const add = (id: string, object: Parameters<typeof createObject>[2]): boolean => {
    if (made >= total) return false
    pending.push([id, object])
    counts[object.type]++
    made++
    if (pending.length >= batch) flush()
    return true
  }
  const flush = () => {
    if (pending.length === 0) return
    doc.transact(() => {
      for (const [id, object] of pending.splice(0)) createObject(doc, id, object)
    })
  }

  add('b0', { type: 'building', parentId: null, name: 'Atrium Tower', address: '1 Collaboration Way', bbox: [0, 0, 0, FLOOR_W, FLOOR_D, floors * FLOOR_H] })
  const zw = FLOOR_W / ZONES_X
  const zd = FLOOR_D / ZONES_Y
  for (let f = 0; f < floors; f++) {
    const z0 = f * FLOOR_H
    const floorId = `f${f}`
    add(floorId, {
      type: 'floor',
      parentId: 'b0',
      name: `Level ${f + 1}`,
      level: f + 1,
      elevation: z0,
      height: FLOOR_H,
      bbox: [0, 0, z0, FLOOR_W, FLOOR_D, z0 + FLOOR_H],
    })
    for (let s = 0; s < SPACES_PER_FLOOR; s++) {
      const x = (s % 5) * 20
      const y = s < 5 ? 0 : 40
      add(`f${f}-r${s}`, {
        type: 'space',
        parentId: floorId,
        name: `Room ${f + 1}${String(s).padStart(2, '0')}`,
        use: s % 3 === 0 ? 'meeting' : 'office',
        area: 20 * 10,
        bbox: [x, y, z0, x + 20, y + 10, z0 + FLOOR_H],
      })
    }
    for (let zx = 0; zx < ZONES_X; zx++) {
      for (let zy = 0; zy < ZONES_Y; zy++) {
        const zoneId = `f${f}-z${zx}${zy}`
        const box: BBox = [zx * zw, zy * zd, z0, (zx + 1) * zw, (zy + 1) * zd, z0 + FLOOR_H]
        add(zoneId, { type: 'zone', parentId: floorId, name: `Zone ${String.fromCharCode(65 + zx)}${zy + 1}`, kind: 'fire-compartment', bbox: box })
        for (const discipline of SYSTEMS) {
          const systemId = `${zoneId}-${discipline}`
          if (add(systemId, { type: 'system', parentId: zoneId, name: `${discipline.toUpperCase()} ${zoneId}`, discipline }))
            systems.push({ id: systemId, discipline, box, last: null, n: 0 })
        }
      }
    }
  }
  // Components and connections, round-robin over the systems, until exactly `total`.
  const component = (sys: (typeof systems)[number]): boolean => {
    const [x0, y0, z0, x1, y1] = sys.box
    const w = 0.3 + rand() * 1.2
    const x = round(x0 + rand() * (x1 - x0 - w))
    const y = round(y0 + rand() * (y1 - y0 - w))
    const z = round(z0 + (sys.discipline === 'hvac' ? 2.8 : rand() * 2.5))
    const id = `${sys.id}-c${sys.n++}`
    const kinds = KINDS[sys.discipline]
    if (
      !add(id, {
        type: 'component',
        parentId: sys.id,
        name: `${kinds[sys.n % kinds.length]} ${sys.n}`,
        kind: kinds[sys.n % kinds.length]!,
        systemId: sys.id,
        bbox: [x, y, z, round(x + w), round(y + w), round(z + w)],
      })
    )
      return false
    if (
      sys.last &&
      !add(`${id}-link`, {
        type: 'connection',
        parentId: sys.id,
        name: `link ${sys.n}`,
        from: sys.last,
        to: id,
        systemId: sys.id,
        kind: sys.discipline === 'electrical' ? 'cable' : sys.discipline === 'data' ? 'fiber' : 'pipe',
      })
    )
      return false
    sys.last = id
    return true
  }
  for (let round_ = 0; made < total; round_++) {
    for (const sys of systems) if (!component(sys)) break
    if (systems.length === 0) break
    if (round_ > k * 4 + 100_000) break
  }
  flush()

  // Anchors: spread over the floors at eye height; every fifth one inside a component's box (a clash).
  const anchorCount = options.anchors ?? Math.max(5, Math.round(total / 1000))
  const objects = doc.getMap<Y.Map<unknown>>('objects')
  doc.transact(() => {
    for (let a = 0; a < anchorCount; a++) {
      const f = a % floors
      let p: [number, number, number] = [round(rand() * FLOOR_W), round(rand() * FLOOR_D), f * FLOOR_H + 1.6]
      if (a % 5 === 0 && systems.length > 0) {
        const sys = systems[(a * 7) % systems.length]!
        const box = objects.get(`${sys.id}-c0`)?.get('bbox') as BBox | undefined
        if (box) p = [round((box[0] + box[3]) / 2), round((box[1] + box[4]) / 2), round((box[2] + box[5]) / 2)]
      }
      setAnchor(doc, `a${a}`, {
        pose: { p, q: [0, 0, 0, 1] },
        parentAnchorId: a > 0 && a % 10 === 0 ? `a${a - 10}` : null,
        label: `anchor ${a}`,
        confidence: round(0.5 + rand() * 0.5),
        updatedBy: 'seed',
      })
    }
  })
  const humanCount = options.humans ?? 3
  const names = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken']
  doc.transact(() => {
    for (let h = 0; h < humanCount; h++) {
      createHuman(doc, `h${h}`, {
        name: names[h % names.length]!,
        expression: { preset: 'neutral', intensity: 0.2 },
        gaze: { anchorId: 'a0' },
        speaking: h === 0,
        animation: { clip: 'idle', time: 0, loop: true },
      })
      appendTranscript(doc, `h${h}`, `Hello, I am ${names[h % names.length]}, your guide to level ${(h % floors) + 1}.`)
    }
  })
  return { counts, floors, anchors: anchorCount, humans: humanCount }
}
