/**
 * The awareness state every Atrium client writes (shared/DESIGN.md: head and hand poses are
 * awareness, not document state). One layout, so an editor, a bot and a headset show each
 * other without knowing who wrote what:
 *   { user: { name, color }, selection: [ids], cursor: { floorId, x, y } | null,
 *     xr: { head, left, right, t, space: 'local-floor' } | null }
 * `user` follows the y-prosemirror / y-codemirror convention, so their cursors read it too.
 *
 * Writers validate with these schemas and throw; readers get another client's state through
 * `sanitizePresence`, which never throws and keeps every part that is valid: the server
 * relays awareness bytes verbatim (shared/protocol/awareness.ts), so anything may arrive.
 * Browser-safe (zod only).
 */
import { z } from 'zod'
import { Id, Quat, Vec3 } from './domain.ts'

const finite = z.number().finite()

export const MAX_SELECTION = 200

/** A rigid pose in site coordinates: position in metres, rotation as a unit quaternion [x, y, z, w]. */
export const Pose = z.strictObject({ p: Vec3, q: Quat })
export type Pose = z.infer<typeof Pose>

export const XR_SPACES = ['local-floor'] as const

export const PRESENCE_FIELDS = {
  user: z.strictObject({
    name: z.string().min(1).max(100),
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb'),
  }),
  selection: z.array(Id).max(MAX_SELECTION),
  cursor: z.strictObject({ floorId: Id, x: finite, y: finite }).nullable(),
  xr: z
    .strictObject({
      head: Pose,
      left: Pose.nullable(),
      right: Pose.nullable(),
      /** The sender's clock when it took the pose, in ms (receivers subtract it to measure latency). */
      t: finite.nonnegative(),
      space: z.enum(XR_SPACES),
    })
    .nullable(),
} as const

export type PresenceUser = z.infer<typeof PRESENCE_FIELDS.user>
export type PresenceCursor = z.infer<typeof PRESENCE_FIELDS.cursor>
export type XrPresence = z.infer<typeof PRESENCE_FIELDS.xr>
export type PresenceField = keyof typeof PRESENCE_FIELDS

/** One client's presence as readers may rely on it: every field present, each valid or empty. */
export interface PresenceState {
  user: PresenceUser | null
  selection: string[]
  cursor: PresenceCursor
  xr: XrPresence
}

export const emptyPresence = (): PresenceState => ({ user: null, selection: [], cursor: null, xr: null })

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function valid<T>(schema: z.ZodType<T>, value: unknown): T | null {
  // Absent reads as empty without building a zod error (a headset's state has no cursor, 90 times a second).
  if (value === undefined || value === null) return null
  const r = schema.safeParse(value)
  return r.success ? r.data : null
}

/** The valid ids of a selection, at most MAX_SELECTION of them (a bad id drops itself, not the others). */
function sanitizeSelection(raw: unknown): string[] {
  if (!Array.isArray(raw)) return []
  const out: string[] = []
  for (const id of raw.slice(0, MAX_SELECTION)) if (Id.safeParse(id).success) out.push(id as string)
  return out
}

/** A pose stream without a valid head, clock or space is dropped whole; a bad hand is only that hand (null: not tracked). */
function sanitizeXr(raw: unknown): XrPresence {
  if (!isRecord(raw)) return null
  const head = valid(Pose, raw.head)
  const t = valid(PRESENCE_FIELDS.xr.unwrap().shape.t, raw.t)
  const space = valid(PRESENCE_FIELDS.xr.unwrap().shape.space, raw.space)
  if (head === null || t === null || space === null) return null
  return { head, left: valid(Pose, raw.left), right: valid(Pose, raw.right), t, space }
}

/**
 * The valid parts of a state another client sent (hostile input): unknown fields are left out,
 * a bad field reads as empty. Never throws, whatever `raw` is.
 */
export function sanitizePresence(raw: unknown): PresenceState {
  if (!isRecord(raw)) return emptyPresence()
  try {
    return {
      user: valid(PRESENCE_FIELDS.user, raw.user),
      selection: sanitizeSelection(raw.selection),
      cursor: valid(PRESENCE_FIELDS.cursor, raw.cursor),
      xr: sanitizeXr(raw.xr),
    }
  } catch {
    // Only an object with throwing getters (never a decoded JSON state) gets here: it reads as empty.
    return emptyPresence()
  }
}
