/**
 * A scripted walk for a simulated headset: a loop around the local-floor origin at walking
 * pace, with the head bobbing and swaying at the step rate and the hands swinging in
 * opposition. Every parameter comes from a seed (the mulberry32 `prng` the bots and the site
 * generator draw from), and a frame is a pure function of (path, time), so a run replays
 * exactly and a test can check any instant. Browser-safe.
 */
import { prng } from '../../shared/schema/generate.ts'
import { quatFromYawPitchRoll, RigidTransform, rotate } from './pose.ts'

export interface WalkPath {
  readonly seed: number
  /** Loop radius, m. */
  readonly radius: number
  /** Walking speed along the loop, m/s. */
  readonly speed: number
  /** +1 counter-clockwise seen from above, -1 clockwise. */
  readonly direction: 1 | -1
  /** Where on the loop the walk starts, rad. */
  readonly phase: number
  /** Eye height above the floor, m. */
  readonly eyeHeight: number
  /** Steps per second. */
  readonly stepHz: number
  /** Vertical head bob, m. */
  readonly bob: number
  /** Hand swing forward and back, m. */
  readonly swing: number
}

/** The head and both grips at one instant, in the path's local-floor space. */
export interface WalkFrame {
  readonly head: RigidTransform
  readonly left: RigidTransform
  readonly right: RigidTransform
}

export function walkPath(seed: number): WalkPath {
  const random = prng(seed)
  const between = (lo: number, hi: number) => lo + random() * (hi - lo)
  const speed = between(0.8, 1.4)
  return {
    seed,
    radius: between(2, 6),
    speed,
    direction: random() < 0.5 ? 1 : -1,
    phase: between(0, 2 * Math.PI),
    eyeHeight: between(1.5, 1.8),
    stepHz: 1.4 * speed + between(0, 0.3),
    bob: between(0.02, 0.04),
    swing: between(0.12, 0.22),
  }
}

// Where the grips hang relative to the head, in the walker's yaw frame (x right, -z forward).
const SHOULDER_X = 0.22
const GRIP_DROP = 0.55
const GRIP_FORWARD = -0.15

/** The walk at `tMs` milliseconds after it started. */
export function walkFrame(path: WalkPath, tMs: number): WalkFrame {
  const t = tMs / 1000
  const angle = path.phase + (path.direction * path.speed * t) / path.radius
  const x = path.radius * Math.cos(angle)
  const z = path.radius * Math.sin(angle)
  // Facing along the loop: forward = d(position)/dt; yaw turns -Z onto it.
  const fx = -path.direction * Math.sin(angle)
  const fz = path.direction * Math.cos(angle)
  const yaw = Math.atan2(-fx, -fz)
  const stride = 2 * Math.PI * path.stepHz * t
  // Two bobs per stride pair (one per step); the head sways left-right once per pair.
  const bob = path.bob * Math.sin(stride)
  const sway = 0.03 * Math.sin(stride / 2)
  const head = new RigidTransform({ x, y: path.eyeHeight + bob, z }, quatFromYawPitchRoll(yaw, -0.1 + 0.02 * Math.sin(stride), sway))
  const body = quatFromYawPitchRoll(yaw, 0, 0)
  const grip = (side: -1 | 1) => {
    const s = side * path.swing * Math.sin(stride / 2)
    const local = rotate(body, { x: side * SHOULDER_X, y: -GRIP_DROP, z: GRIP_FORWARD - s })
    return new RigidTransform({ x: x + local.x, y: path.eyeHeight + local.y, z: z + local.z }, quatFromYawPitchRoll(yaw, -0.6 + s, 0))
  }
  return { head, left: grip(-1), right: grip(1) }
}
