/**
 * The XR headset client, browser-safe: WebXR-shaped poses and spaces driven by a scripted
 * walk, and a Headset that streams them as presence over a Site. The fleet runner for demos
 * and load (many headsets in one Node process, sockets from `ws`) is `./fleet.ts`, imported
 * on its own so this index stays free of Node.
 */
export { Headset, type HeadsetOptions, type HeadsetSite, type HeadsetStats } from './headset.ts'
export { type WalkFrame, type WalkPath, walkFrame, walkPath } from './path.ts'
export { PeerPoses } from './peers.ts'
export { fromPose, type Point, type Quaternion, quatFromAxisAngle, quatFromYawPitchRoll, quatMultiply, RigidTransform, rotate, toPose } from './pose.ts'
export { type GripSpace, type Handedness, INPUT_SOURCES, type InputSource, ReferenceSpace, SimulatedFrame, siteSpace, type XRPoseLike } from './space.ts'
