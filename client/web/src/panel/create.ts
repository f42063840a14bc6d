/**
 * What "add a child" creates: the child types the schema allows under an object
 * (PARENT_TYPES), each with its required fields filled in sensibly from where it goes (a
 * box inside its parent's, the next level number, the system's components for a
 * connection's ends). Null when a child of that type cannot be made there yet.
 */
import type { Site } from '../../../sdk/index.ts'
import { type BBox, type BuildingObject, OBJECT_TYPES, type ObjectType, PARENT_TYPES } from '../../../../shared/schema/domain.ts'

export function childTypes(parentType: ObjectType | null): ObjectType[] {
  return OBJECT_TYPES.filter((t) => PARENT_TYPES[t].includes(parentType))
}

export const newId = (type: ObjectType) => `${type}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** The nearest box on the way up from `id` (the object's own first). */
function boxAbove(site: Site, id: string | null): BBox | null {
  if (id === null) return null
  const path = site.path(id)
  for (let i = path.length - 1; i >= 0; i--) {
    const b = path[i]!.object.bbox as BBox | undefined
    if (b) return b
  }
  return null
}

const round = (x: number) => Math.round(x * 100) / 100

/** A size × size box at the centre of the box above, on its floor. */
function boxInside(site: Site, parentId: string | null, size: number, height: number): BBox {
  const b = boxAbove(site, parentId) ?? [0, 0, 0, size, size, height]
  const cx = (b[0] + b[3]) / 2
  const cy = (b[1] + b[4]) / 2
  return [round(cx - size / 2), round(cy - size / 2), b[2], round(cx + size / 2), round(cy + size / 2), round(b[2] + height)]
}

export function defaultsFor(site: Site, type: ObjectType, parentId: string | null): BuildingObject | null {
  const base = { type, parentId }
  const siblings = site.children(parentId).filter((e) => e.object.type === type)
  const n = siblings.length + 1
  switch (type) {
    case 'building':
      return { ...base, name: `Building ${n}` }
    case 'floor': {
      const level = siblings.reduce((max, e) => Math.max(max, Number(e.object.level ?? 0)), 0) + 1
      const b = boxAbove(site, parentId)
      return {
        ...base,
        name: `Level ${level}`,
        level,
        elevation: (level - 1) * 4,
        height: 4,
        ...(b ? { bbox: [b[0], b[1], (level - 1) * 4, b[3], b[4], level * 4] } : {}),
      }
    }
    case 'zone':
      return { ...base, name: `Zone ${n}`, kind: 'zone', bbox: boxInside(site, parentId, 10, 4) }
    case 'system':
      return { ...base, name: `System ${n}`, discipline: 'hvac' }
    case 'component':
      return { ...base, name: `Component ${n}`, kind: 'equipment', bbox: boxInside(site, parentId, 1, 1), ...(parentId ? { systemId: parentId } : {}) }
    case 'connection': {
      const ends = site.children(parentId).filter((e) => e.object.type === 'component')
      if (ends.length < 2) return null
      return { ...base, name: `Link ${n}`, kind: 'pipe', from: ends[0]!.id, to: ends.at(-1)!.id, ...(parentId ? { systemId: parentId } : {}) }
    }
    case 'space':
      return { ...base, name: `Room ${n}`, use: 'office', area: 25, bbox: boxInside(site, parentId, 5, 3) }
  }
}
