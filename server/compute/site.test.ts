import { describe, expect, it } from 'vitest'
import type { Anchor, BuildingObject } from '../../shared/schema/domain.ts'
import { sanitizeObject } from '../../shared/schema/document.ts'
import { analyze, exportSvg, ExportError } from './site.ts'

const box = (x: number, y: number, z: number, s = 1) => [x, y, z, x + s, y + s, z + s]
const objects = new Map<string, BuildingObject>([
  ['b', { type: 'building', parentId: null, name: 'B' }],
  ['f', { type: 'floor', parentId: 'b', name: 'F', level: 1, elevation: 0 }],
  ['z', { type: 'zone', parentId: 'f', name: 'Z' }],
  ['s', { type: 'system', parentId: 'z', name: 'S', discipline: 'hvac' }],
  ['c1', { type: 'component', parentId: 's', name: 'c1', kind: 'k', bbox: box(0, 0, 0) }],
  ['c2', { type: 'component', parentId: 's', name: 'c2', kind: 'k', bbox: box(10, 0, 0) }],
  ['c3', { type: 'component', parentId: 's', name: 'c3', kind: 'k', bbox: box(20, 0, 0, 5) }],
  ['k1', { type: 'connection', parentId: 's', name: 'k1', from: 'c1', to: 'c2' }],
  ['k2', { type: 'connection', parentId: 's', name: 'k2', from: 'c2', to: 'c1' }], // a cycle c1 ⇄ c2
  ['k3', { type: 'connection', parentId: 's', name: 'k3', from: 'c3', to: 'gone' }], // dangling
  ['x', { type: 'component', parentId: 'f', name: 'misplaced', kind: 'k', bbox: box(50, 50, 0) }], // component under a floor
  ['o', { type: 'zone', parentId: 'missing', name: 'orphan' }],
])
const anchor = (p: [number, number, number]): Anchor => ({ pose: { p, q: [0, 0, 0, 1] }, parentAnchorId: null, label: '', confidence: 1, updatedBy: 't' })
const anchors = new Map<string, Anchor>([
  ['a-in', anchor([0.5, 0.5, 0.5])],
  ['a-edge', anchor([1.1, 0.5, 0.5])], // within the anchor's own 0.15 m extent of c1
  ['a-big', anchor([22, 2, 2])],
  ['a-out', anchor([5, 5, 5])],
])

describe('site analytics', () => {
  it('counts, finds dangling connections, cycles, misplaced and detached objects, and clashes', () => {
    const a = analyze({ objects, anchors })
    expect(a.counts).toEqual({ building: 1, floor: 1, zone: 2, system: 1, component: 4, connection: 3, space: 0 })
    expect(a.floors.f!.counts.component).toBe(4)
    expect(a.zones.z!.counts.component).toBe(3)
    expect(a.systems.s).toMatchObject({ components: 3, connections: 3, zone: 'z', discipline: 'hvac' })
    expect(a.connections).toMatchObject({ total: 3, dangling: 1, cycles: 1 })
    expect(a.connections.sample.map((s) => s.id).sort()).toEqual(['c1', 'k3'])
    expect(a.hierarchy.detached).toBe(1)
    expect(a.hierarchy.misplaced).toBe(2) // x (component under a floor), o (zone at the top level)
    expect(a.clashes.sample).toEqual([
      { anchor: 'a-big', component: 'c3' },
      { anchor: 'a-edge', component: 'c1' },
      { anchor: 'a-in', component: 'c1' },
    ])
    expect(a.bbox).toEqual([0, 0, 0, 51, 51, 5])
  })

  it('refuses to export something that is not a floor', () => {
    expect(() => exportSvg({ objects, anchors }, { floor: 'z', lod: 'full' })).toThrow(ExportError)
  })

  it('escapes names in the SVG', () => {
    const named = new Map(objects)
    named.set('z', { ...objects.get('z')!, name: '<script>"&' })
    const svg = exportSvg({ objects: named, anchors }, { floor: 'f', lod: 'zones' })
    expect(svg).not.toContain('<script>')
    expect(svg).toContain('data-name="&#60;script&#62;&#34;&#38;"')
  })
})

describe('readers of a site stored before the schema guard (fields missing or of the wrong kind)', () => {
  // What the two guard bypasses of issue 12 left behind, and worse.
  const broken = new Map<string, BuildingObject>([
    ['b', { type: 'building', parentId: null } as unknown as BuildingObject],
    ['f1', { type: 'floor', parentId: 'b', level: 1, elevation: 0 } as unknown as BuildingObject], // no name
    ['f2', { parentId: 'b', name: 'typeless' } as unknown as BuildingObject], // no type
    ['z1', { parentId: 'f1', name: 'Z', bbox: [0, 0, 0, 5, 5, 3] } as unknown as BuildingObject], // no type
    ['z2', { type: 'zone', parentId: 'f1', name: 7, bbox: 'wide' } as unknown as BuildingObject],
    ['s', { type: 'system', parentId: 'f1', name: 'S' } as unknown as BuildingObject], // no discipline
    ['c', { type: 'component', parentId: 's', name: 'c' } as unknown as BuildingObject], // no bbox
    ['c2', { type: 'component', parentId: 's', name: 'c2', bbox: [0, 0] } as unknown as BuildingObject], // short bbox
    ['k', { type: 'connection', parentId: 's', name: 'k' } as unknown as BuildingObject], // no ends
    ['sp', { type: 'space', parentId: 'f1', name: 'room', bbox: null } as unknown as BuildingObject],
    ['w', { type: 'warehouse', parentId: 'f1', name: 'unknown type' } as unknown as BuildingObject],
  ])

  // What readers get: the compute worker sanitizes every object it reads (shared/schema).
  const objects = new Map<string, BuildingObject>()
  const invalid = new Set<string>()
  for (const [id, raw] of broken) {
    const o = sanitizeObject(id, raw as unknown as Record<string, unknown>)
    if (o) objects.set(id, o)
    else invalid.add(id)
  }
  const site = { objects, anchors: new Map<string, Anchor>(), invalid }

  it('sanitizing keeps what is valid: a name (the id when missing), the type, fields that pass their schema', () => {
    expect(objects.get('f1')).toEqual({ type: 'floor', parentId: 'b', name: 'f1', level: 1, elevation: 0 })
    expect(objects.get('z2')).toEqual({ type: 'zone', parentId: 'f1', name: 'z2' })
    expect([...invalid].sort()).toEqual(['f2', 'w', 'z1'])
  })

  it('analytics and SVG export answer, counting what they can and reporting what has no type', () => {
    const a = analyze(site)
    expect(a.objects).toBe(broken.size)
    expect(a.counts.floor).toBe(1)
    expect(a.hierarchy.invalid).toBe(3)
    expect(
      a.hierarchy.sample
        .filter((s) => s.problem === 'no valid type')
        .map((s) => s.id)
        .sort(),
    ).toEqual(['f2', 'w', 'z1'])
    expect(exportSvg(site, { floor: 'f1', lod: 'full' })).toMatch(/^<svg/)
    expect(exportSvg(site, { floor: 'f1', lod: 'zones', viewport: [0, 0, 10, 10] })).toMatch(/^<svg/)
  })
})
