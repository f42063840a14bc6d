/**
 * The bounds of admission, per update and per connection. Client updates get the configured
 * ones; stored updates (loading a document) and updates from other cluster nodes (admitted
 * there already) are only held to the conflict-scan bound, which is what tells a poisoned
 * document from a large one.
 */
export interface UpdateLimits {
  readonly maxStructs: number
  /** Delete ranges after merging (raw ones may be up to four times as many). */
  readonly maxDeleteRanges: number
  /** New client ids in one update. */
  readonly maxNewClients: number
  /** Work units (about ns) integrating one update may cost, deletes included. */
  readonly maxWork: number
  /** Conflict-scan steps allowed: this many, plus `stepsPerStruct` per struct of the update. */
  readonly stepsFloor: number
  readonly stepsPerStruct: number
  /** Bytes of structs Yjs keeps pending (waiting for what they depend on), in the document after the update. */
  readonly maxPendingBytes: number
  /** Deleted ranges past what the document has, which Yjs re-applies on every later update. */
  readonly maxPendingDeleteRanges: number
  readonly maxNewRoots: number
  readonly maxRoots: number
}

/**
 * Honest updates scan a handful of conflicting items per struct (concurrent edits at one spot
 * by a few dozen people); 100,000 steps (about 6 ms) covers one insert into the largest run an
 * honest document has. A crafted run of thousands of inserts at one position needs millions.
 */
export const STEPS_FLOOR = 100_000
export const STEPS_PER_STRUCT = 32

export function clientLimits(config: {
  readonly MAX_UPDATE_STRUCTS: number
  readonly MAX_UPDATE_DELETE_RANGES: number
  readonly MAX_UPDATE_NEW_CLIENTS: number
  readonly MAX_UPDATE_WORK_MS: number
}): UpdateLimits {
  return {
    maxStructs: config.MAX_UPDATE_STRUCTS,
    maxDeleteRanges: config.MAX_UPDATE_DELETE_RANGES,
    maxNewClients: config.MAX_UPDATE_NEW_CLIENTS,
    maxWork: config.MAX_UPDATE_WORK_MS * 1e6,
    stepsFloor: STEPS_FLOOR,
    stepsPerStruct: STEPS_PER_STRUCT,
    maxPendingBytes: 64 * 1024,
    maxPendingDeleteRanges: 1000,
    maxNewRoots: 16,
    maxRoots: 256,
  }
}

const UNBOUNDED = Number.POSITIVE_INFINITY

/** Stored and cluster updates: only the conflict-scan bound. */
export const TRUSTED_LIMITS: UpdateLimits = {
  maxStructs: UNBOUNDED,
  maxDeleteRanges: UNBOUNDED,
  maxNewClients: UNBOUNDED,
  maxWork: UNBOUNDED,
  stepsFloor: STEPS_FLOOR,
  stepsPerStruct: STEPS_PER_STRUCT,
  maxPendingBytes: UNBOUNDED,
  maxPendingDeleteRanges: UNBOUNDED,
  maxNewRoots: UNBOUNDED,
  maxRoots: UNBOUNDED,
}
