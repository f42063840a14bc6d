/**
 * Rigid transforms shaped like WebXR's `XRRigidTransform` ({ position, orientation } as
 * DOMPoint-like {x, y, z, w}, `inverse`, `matrix`), so code written against a real XRFrame
 * runs unchanged on the simulated one, and the presence `Pose` ({ p, q } arrays, the wire
 * form of shared/schema/presence.ts) converts both ways. Pure math, browser-safe.
 * Conventions as WebXR's: metres, right-handed, +Y up, -Z forward, quaternions [x, y, z, w].
 */
import type { Pose } from '../../shared/schema/presence.ts'

export interface Point {
  readonly x: number
  readonly y: number
  readonly z: number
  readonly w: number
}

export type Quaternion = Point

export const IDENTITY_Q: Quaternion = { x: 0, y: 0, z: 0, w: 1 }

export function quatMultiply(a: Quaternion, b: Quaternion): Quaternion {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  }
}

export function quatNormalize(q: Quaternion): Quaternion {
  const n = Math.hypot(q.x, q.y, q.z, q.w)
  return n === 0 ? IDENTITY_Q : { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n }
}

export const quatConjugate = (q: Quaternion): Quaternion => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w })

/** Rotation by `angle` radians about a unit axis. */
export function quatFromAxisAngle(ax: number, ay: number, az: number, angle: number): Quaternion {
  const s = Math.sin(angle / 2)
  return { x: ax * s, y: ay * s, z: az * s, w: Math.cos(angle / 2) }
}

/** Yaw about +Y, then pitch about the turned +X, then roll about the turned -Z (how a head turns). */
export function quatFromYawPitchRoll(yaw: number, pitch: number, roll: number): Quaternion {
  const q = quatMultiply(quatMultiply(quatFromAxisAngle(0, 1, 0, yaw), quatFromAxisAngle(1, 0, 0, pitch)), quatFromAxisAngle(0, 0, 1, roll))
  return quatNormalize(q)
}

/** `v` rotated by the unit quaternion `q`. */
export function rotate(q: Quaternion, v: { x: number; y: number; z: number }): Point {
  // v' = v + 2w(q×v) + 2 q×(q×v)
  const tx = 2 * (q.y * v.z - q.z * v.y)
  const ty = 2 * (q.z * v.x - q.x * v.z)
  const tz = 2 * (q.x * v.y - q.y * v.x)
  return { x: v.x + q.w * tx + (q.y * tz - q.z * ty), y: v.y + q.w * ty + (q.z * tx - q.x * tz), z: v.z + q.w * tz + (q.x * ty - q.y * tx), w: 1 }
}

export class RigidTransform {
  readonly position: Point
  readonly orientation: Quaternion
  private inverted: RigidTransform | undefined

  constructor(position: Partial<Point> = {}, orientation: Partial<Quaternion> = {}) {
    this.position = { x: position.x ?? 0, y: position.y ?? 0, z: position.z ?? 0, w: 1 }
    this.orientation = quatNormalize({ x: orientation.x ?? 0, y: orientation.y ?? 0, z: orientation.z ?? 0, w: orientation.w ?? 1 })
  }

  /** The transform that undoes this one. */
  get inverse(): RigidTransform {
    if (this.inverted) return this.inverted
    const q = quatConjugate(this.orientation)
    const p = rotate(q, this.position)
    this.inverted = new RigidTransform({ x: -p.x, y: -p.y, z: -p.z }, q)
    return this.inverted
  }

  /** Column-major 4×4, as WebGL and three.js take it. */
  get matrix(): Float32Array {
    const { x, y, z, w } = this.orientation
    const p = this.position
    // biome-ignore format: a matrix reads best as its columns
    return new Float32Array([
      1 - 2 * (y * y + z * z), 2 * (x * y + z * w), 2 * (x * z - y * w), 0,
      2 * (x * y - z * w), 1 - 2 * (x * x + z * z), 2 * (y * z + x * w), 0,
      2 * (x * z + y * w), 2 * (y * z - x * w), 1 - 2 * (x * x + y * y), 0,
      p.x, p.y, p.z, 1,
    ])
  }

  /** `this` then `local`: a pose given in this transform's frame, expressed in its parent's. */
  multiply(local: RigidTransform): RigidTransform {
    const p = rotate(this.orientation, local.position)
    return new RigidTransform(
      { x: this.position.x + p.x, y: this.position.y + p.y, z: this.position.z + p.z },
      quatMultiply(this.orientation, local.orientation),
    )
  }
}

// Divide by the scale (not multiply by a step): the nearest double to a short decimal, so its JSON stays short.
const round = (v: number, scale: number) => Math.round(v * scale) / scale

/** The wire form: position to 0.1 mm and rotation to 1e-6 (smaller awareness states; still a unit quaternion to 1e-5). */
export function toPose(t: RigidTransform): Pose {
  const { position: p, orientation: q } = t
  return {
    p: [round(p.x, 1e4), round(p.y, 1e4), round(p.z, 1e4)],
    q: [round(q.x, 1e6), round(q.y, 1e6), round(q.z, 1e6), round(q.w, 1e6)],
  }
}

export function fromPose({ p, q }: Pose): RigidTransform {
  return new RigidTransform({ x: p[0], y: p[1], z: p[2] }, { x: q[0], y: q[1], z: q[2], w: q[3] })
}
