/**
 * Reference spaces and frames shaped like WebXR's (`XRReferenceSpace.getOffsetReferenceSpace`,
 * `XRFrame.getViewerPose`, `XRFrame.getPose(inputSource.gripSpace, space)`), driven by a
 * scripted walk instead of a device. An app places the site in the room the WebXR way, with
 * an offset reference space (`siteSpace`), and reads poses in site coordinates; the same app
 * code then runs on a real headset. Pure math, browser-safe.
 */
import type { WalkFrame } from './path.ts'
import { RigidTransform } from './pose.ts'

export type ReferenceSpaceType = 'local-floor'
export type Handedness = 'left' | 'right'

export class ReferenceSpace {
  constructor(
    readonly type: ReferenceSpaceType = 'local-floor',
    /** Where this space's origin is in the session's native local-floor space. */
    readonly originOffset: RigidTransform = new RigidTransform(),
  ) {}

  /** As WebXR: a space whose origin stands at `originOffset` within this one. */
  getOffsetReferenceSpace(originOffset: RigidTransform): ReferenceSpace {
    return new ReferenceSpace(this.type, this.originOffset.multiply(originOffset))
  }
}

/** Site coordinates as a reference space, for a walker whose local-floor origin stands at `floorInSite` in the site. */
export function siteSpace(floorInSite: RigidTransform): ReferenceSpace {
  return new ReferenceSpace('local-floor').getOffsetReferenceSpace(floorInSite.inverse)
}

export interface GripSpace {
  readonly handedness: Handedness
}

export interface InputSource {
  readonly handedness: Handedness
  readonly gripSpace: GripSpace
}

export interface XRPoseLike {
  readonly transform: RigidTransform
  readonly emulatedPosition: boolean
}

export const INPUT_SOURCES: readonly InputSource[] = [
  { handedness: 'left', gripSpace: { handedness: 'left' } },
  { handedness: 'right', gripSpace: { handedness: 'right' } },
]

/** One instant of a simulated session: the walk's poses, tracked in the native local-floor space. */
export class SimulatedFrame {
  readonly inputSources = INPUT_SOURCES

  constructor(
    /** The frame's time in ms (WebXR's DOMHighResTimeStamp). */
    readonly time: number,
    private readonly walk: WalkFrame,
  ) {}

  getViewerPose(space: ReferenceSpace): XRPoseLike {
    return { transform: space.originOffset.inverse.multiply(this.walk.head), emulatedPosition: false }
  }

  getPose(grip: GripSpace, space: ReferenceSpace): XRPoseLike | null {
    const hand = grip.handedness === 'left' ? this.walk.left : this.walk.right
    return { transform: space.originOffset.inverse.multiply(hand), emulatedPosition: false }
  }
}
