/**
 * The XR headset client: WebXR-shaped poses and spaces driven by a scripted walk, a Headset
 * that streams them as presence over a Site, and a fleet runner for demos and load.
 * pose.ts, path.ts and space.ts are pure and browser-safe; headset.ts needs the histogram
 * of load-tests/core; fleet.ts opens sockets with `ws` (Node).
 */
export { formatFleetReport, type FleetOptions, type FleetReport, runFleet } from './fleet.ts'
export { Headset, type HeadsetOptions, type HeadsetSite, type HeadsetStats } from './headset.ts'
export { type WalkFrame, type WalkPath, walkFrame, walkPath } from './path.ts'
export { PeerPoses } from './peers.ts'
export { fromPose, type Point, type Quaternion, quatFromAxisAngle, quatFromYawPitchRoll, quatMultiply, RigidTransform, rotate, toPose } from './pose.ts'
export { type GripSpace, type Handedness, INPUT_SOURCES, type InputSource, ReferenceSpace, SimulatedFrame, siteSpace, type XRPoseLike } from './space.ts'
