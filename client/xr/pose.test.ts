import { describe, expect, it } from 'vitest'
import { Pose } from '../../shared/schema/presence.ts'
import { walkFrame, walkPath } from './path.ts'
import { fromPose, quatFromAxisAngle, quatFromYawPitchRoll, RigidTransform, rotate, toPose } from './pose.ts'
import { SimulatedFrame, siteSpace } from './space.ts'

const close = (a: { x: number; y: number; z: number }, b: { x: number; y: number; z: number }) => {
  expect(a.x).toBeCloseTo(b.x, 9)
  expect(a.y).toBeCloseTo(b.y, 9)
  expect(a.z).toBeCloseTo(b.z, 9)
}

describe('rigid transforms', () => {
  it('rotate, compose and invert like WebXR', () => {
    const quarter = quatFromAxisAngle(0, 1, 0, Math.PI / 2)
    close(rotate(quarter, { x: 0, y: 0, z: -1 }), { x: -1, y: 0, z: 0 })
    const t = new RigidTransform({ x: 1, y: 2, z: 3 }, quatFromYawPitchRoll(0.7, -0.2, 0.1))
    const id = t.multiply(t.inverse)
    close(id.position, { x: 0, y: 0, z: 0 })
    expect(Math.abs(id.orientation.w)).toBeCloseTo(1, 9)
    const ahead = rotate(t.orientation, { x: 0, y: 0, z: -1 })
    close(t.multiply(new RigidTransform({ z: -1 })).position, { x: 1 + ahead.x, y: 2 + ahead.y, z: 3 + ahead.z })
  })

  it('has the column-major matrix of its rotation and translation', () => {
    const t = new RigidTransform({ x: 1, y: 2, z: 3 }, quatFromAxisAngle(0, 1, 0, Math.PI / 2))
    const m = t.matrix
    const v = { x: 0.3, y: -0.5, z: 2 }
    const byMatrix = {
      x: m[0]! * v.x + m[4]! * v.y + m[8]! * v.z + m[12]!,
      y: m[1]! * v.x + m[5]! * v.y + m[9]! * v.z + m[13]!,
      z: m[2]! * v.x + m[6]! * v.y + m[10]! * v.z + m[14]!,
    }
    const r = rotate(t.orientation, v)
    const expected = { x: r.x + 1, y: r.y + 2, z: r.z + 3 }
    expect(byMatrix.x).toBeCloseTo(expected.x, 5)
    expect(byMatrix.y).toBeCloseTo(expected.y, 5)
    expect(byMatrix.z).toBeCloseTo(expected.z, 5)
  })

  it('converts to the wire pose and back', () => {
    const t = new RigidTransform({ x: 1.234567, y: 1.6, z: -3 }, quatFromYawPitchRoll(2, 0.3, -0.1))
    const pose = toPose(t)
    expect(Pose.safeParse(pose).success).toBe(true)
    expect(pose.p).toEqual([1.2346, 1.6, -3])
    close(fromPose(pose).position, { x: 1.2346, y: 1.6, z: -3 })
  })
})

describe('scripted walk', () => {
  it('is a pure function of seed and time', () => {
    expect(walkPath(7)).toEqual(walkPath(7))
    expect(walkPath(7)).not.toEqual(walkPath(8))
    expect(toPose(walkFrame(walkPath(7), 1234.5).left)).toEqual(toPose(walkFrame(walkPath(7), 1234.5).left))
  })

  it('gives valid unit quaternions and plausible poses at every frame of 20 s at 90 Hz, for many seeds', () => {
    const faults: string[] = []
    const fault = (seed: number, i: number, what: string) => faults.length < 5 && faults.push(`seed ${seed}, frame ${i}: ${what}`)
    for (let seed = 0; seed < 20; seed++) {
      const path = walkPath(seed)
      let prev = walkFrame(path, 0)
      for (let i = 1; i <= 20 * 90; i++) {
        const f = walkFrame(path, (i * 1000) / 90)
        const head = f.head.position
        for (const t of [f.head, f.left, f.right]) if (!Pose.safeParse(toPose(t)).success) fault(seed, i, 'invalid pose')
        if (head.y < 1.4 || head.y > 1.9) fault(seed, i, `eye height ${head.y}`)
        if (Math.abs(Math.hypot(head.x, head.z) - path.radius) > 1e-6) fault(seed, i, 'off the loop')
        // Walking pace: under 2 m/s between frames; hands stay within arm's reach of the head.
        if (Math.hypot(head.x - prev.head.position.x, head.z - prev.head.position.z) * 90 > 2) fault(seed, i, 'too fast')
        for (const { position: h } of [f.left, f.right]) if (Math.hypot(h.x - head.x, h.y - head.y, h.z - head.z) > 0.9) fault(seed, i, 'hand out of reach')
        prev = f
      }
    }
    expect(faults).toEqual([])
  })

  it('looks where it walks, with the left hand on its left', () => {
    const path = walkPath(3)
    const a = walkFrame(path, 1000)
    const b = walkFrame(path, 1100)
    const forward = rotate(a.head.orientation, { x: 0, y: 0, z: -1 })
    const moved = { x: b.head.position.x - a.head.position.x, z: b.head.position.z - a.head.position.z }
    expect(forward.x * moved.x + forward.z * moved.z).toBeGreaterThan(0)
    const right = rotate(a.head.orientation, { x: 1, y: 0, z: 0 })
    const leftToRight = { x: a.right.position.x - a.left.position.x, z: a.right.position.z - a.left.position.z }
    expect(right.x * leftToRight.x + right.z * leftToRight.z).toBeGreaterThan(0)
  })
})

describe('reference spaces', () => {
  it('reads poses in site coordinates through an offset space, as WebXR does', () => {
    const path = walkPath(1)
    const walk = walkFrame(path, 500)
    const floorInSite = new RigidTransform({ x: 10, y: 3.5, z: -4 }, quatFromAxisAngle(0, 1, 0, Math.PI))
    const frame = new SimulatedFrame(500, walk)
    const inSite = frame.getViewerPose(siteSpace(floorInSite)).transform
    close(inSite.position, floorInSite.multiply(walk.head).position)
    close(frame.getViewerPose(siteSpace(new RigidTransform())).transform.position, walk.head.position)
    const grip = frame.getPose(frame.inputSources[0]!.gripSpace, siteSpace(floorInSite))!.transform
    close(grip.position, floorInSite.multiply(walk.left).position)
  })
})
