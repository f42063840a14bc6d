/**
 * The domain layout of a site document (shared/DESIGN.md), as zod schemas: what every
 * client writes and what the server accepts. Browser-safe (zod only).
 *
 * One Y.Doc per site (`site/<id>`), three top-level maps:
 * - `objects`: id → Y.Map of one building object's fields. A flat map with parent pointers
 *   (building → floor → zone → system → component | connection; spaces under a floor or a
 *   zone): a move is one `parentId` write, and concurrent edits of different fields merge.
 * - `anchors`: id → one plain value (an XR spatial anchor, replaced as a whole).
 * - `humans`: id → Y.Map of a digital human's live state, with `transcript` a Y.Text.
 * Each field has its own schema, so a write of a single field can be checked on its own.
 */
import { z } from 'zod'

export const OBJECT_TYPES = ['building', 'floor', 'zone', 'system', 'component', 'connection', 'space'] as const
export type ObjectType = (typeof OBJECT_TYPES)[number]

/** Which parent types each object type may hang under (null: the top level). Readers enforce it. */
export const PARENT_TYPES: Readonly<Record<ObjectType, readonly (ObjectType | null)[]>> = {
  building: [null],
  floor: ['building'],
  zone: ['floor'],
  system: ['zone', 'floor'],
  component: ['system'],
  connection: ['system'],
  space: ['floor', 'zone'],
}

export const Id = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'an id is 1-128 characters of A-Z a-z 0-9 _ . : -')
const finite = z.number().finite()
export const Vec3 = z.tuple([finite, finite, finite])
export const Quat = z
  .tuple([finite, finite, finite, finite])
  .refine(([x, y, z, w]) => Math.abs(Math.hypot(x, y, z, w) - 1) < 1e-3, 'a rotation quaternion has length 1')
/** Axis-aligned box in metres, site coordinates: [minX, minY, minZ, maxX, maxY, maxZ]. */
export const BBox = z
  .tuple([finite, finite, finite, finite, finite, finite])
  .refine(([x0, y0, z0, x1, y1, z1]) => x0 <= x1 && y0 <= y1 && z0 <= z1, 'a box has min ≤ max on every axis')
export type BBox = z.infer<typeof BBox>

const name = z.string().min(1).max(200)
export const DISCIPLINES = ['hvac', 'electrical', 'plumbing', 'fire', 'data', 'structural', 'mechanical'] as const

/** Every field an object may have, by name (a field's schema is the same for every type that has it). */
export const OBJECT_FIELDS = {
  type: z.enum(OBJECT_TYPES),
  parentId: Id.nullable(),
  name,
  bbox: BBox,
  elevation: finite,
  height: finite.positive(),
  level: z.number().int().min(-20).max(300),
  address: z.string().max(500),
  discipline: z.enum(DISCIPLINES),
  kind: z.string().min(1).max(100),
  systemId: Id,
  from: Id,
  to: Id,
  use: z.string().min(1).max(100),
  area: finite.nonnegative(),
  tags: z.array(z.string().min(1).max(50)).max(50),
  /** A component's latest sensor reading (a BMS feed writes it; `at` is when it was measured, epoch ms). */
  reading: z.strictObject({ value: finite, unit: z.string().min(1).max(20), at: z.number().int().nonnegative() }),
} as const
export type ObjectField = keyof typeof OBJECT_FIELDS

const COMMON: readonly ObjectField[] = ['type', 'parentId', 'name', 'tags']
/** Fields each type may have beyond type, parentId, name and tags; `required` must be present at creation. */
export const TYPE_FIELDS: Readonly<Record<ObjectType, { readonly optional: readonly ObjectField[]; readonly required: readonly ObjectField[] }>> = {
  building: { required: [], optional: ['address', 'elevation', 'bbox'] },
  floor: { required: ['level', 'elevation'], optional: ['height', 'bbox'] },
  zone: { required: [], optional: ['kind', 'bbox'] },
  system: { required: ['discipline'], optional: ['kind'] },
  component: { required: ['kind', 'bbox'], optional: ['systemId', 'reading'] },
  connection: { required: ['from', 'to'], optional: ['kind', 'systemId'] },
  space: { required: ['bbox'], optional: ['use', 'area'] },
}

/** Fields an object must have: type, parentId and name, and its type's required ones (just the three for an unknown type). */
export function requiredFields(type: string | undefined): readonly ObjectField[] {
  const spec = type !== undefined && Object.hasOwn(TYPE_FIELDS, type) ? TYPE_FIELDS[type as ObjectType] : null
  return ['type', 'parentId', 'name', ...(spec?.required ?? [])]
}

export function fieldAllowed(type: ObjectType, field: string): field is ObjectField {
  const spec = TYPE_FIELDS[type]
  return (COMMON as readonly string[]).includes(field) || spec.required.includes(field as ObjectField) || spec.optional.includes(field as ObjectField)
}

/** A whole object as plain data (what helpers take and readers return). */
export const BuildingObject = z
  .object({ type: OBJECT_FIELDS.type, parentId: OBJECT_FIELDS.parentId, name: OBJECT_FIELDS.name })
  .catchall(z.unknown())
  .superRefine((o, ctx) => {
    for (const [field, value] of Object.entries(o)) {
      if (!fieldAllowed(o.type, field)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${o.type} has no field ${JSON.stringify(field)}` })
        continue
      }
      const r = OBJECT_FIELDS[field].safeParse(value)
      if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [field, ...issue.path] } as never)
    }
    for (const field of TYPE_FIELDS[o.type].required) if (!(field in o)) ctx.addIssue({ code: 'custom', path: [field], message: `a ${o.type} needs ${field}` })
    if (o.type === 'building' && o.parentId !== null)
      ctx.addIssue({ code: 'custom', path: ['parentId'], message: 'a building is at the top level (parentId null)' })
  })
export type BuildingObject = { type: ObjectType; parentId: string | null; name: string } & Partial<Record<ObjectField, unknown>>

export const Anchor = z.strictObject({
  pose: z.strictObject({ p: Vec3, q: Quat }),
  parentAnchorId: Id.nullable(),
  label: z.string().max(200),
  confidence: z.number().min(0).max(1),
  updatedBy: z.string().min(1).max(200),
})
export type Anchor = z.infer<typeof Anchor>

export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'surprised', 'angry', 'thinking', 'confused'] as const
/** Fields of a digital human (`transcript` is a Y.Text, checked by type only). */
export const HUMAN_FIELDS = {
  name,
  expression: z.strictObject({ preset: z.enum(EXPRESSIONS), intensity: z.number().min(0).max(1) }),
  gaze: z.union([z.strictObject({ target: Vec3 }), z.strictObject({ anchorId: Id }), z.null()]),
  speaking: z.boolean(),
  animation: z.strictObject({ clip: z.string().min(1).max(100), time: finite.nonnegative(), loop: z.boolean() }).nullable(),
} as const
export type HumanField = keyof typeof HUMAN_FIELDS | 'transcript'

export const Human = z.strictObject({
  name: HUMAN_FIELDS.name,
  expression: HUMAN_FIELDS.expression,
  gaze: HUMAN_FIELDS.gaze,
  speaking: HUMAN_FIELDS.speaking,
  animation: HUMAN_FIELDS.animation,
})
export type Human = z.infer<typeof Human>

/** The top-level names of a site document; anything else at the top level is refused. */
export const TOP_LEVEL = ['objects', 'anchors', 'humans'] as const

/** One readable line for a zod error: `path: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!
  return `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`
}
